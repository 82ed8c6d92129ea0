//! Memory of an environment's process tree, read from /proc: what the REPORT line's
//! "Max Memory Used" shows and what the memory limit is checked against.

use std::collections::BTreeSet;

const MIB: u64 = 1024 * 1024;

/// The processes descending from `roots` (included), found through
/// /proc/PID/task/TID/children.
pub(crate) fn process_tree(roots: &[u32]) -> BTreeSet<u32> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<u32> = roots.to_vec();
    while let Some(pid) = stack.pop() {
        if !seen.insert(pid) {
            continue;
        }
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let Ok(children) = std::fs::read_to_string(task.path().join("children")) else {
                continue;
            };
            stack.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    seen
}

/// Resident memory of `pids` now, bytes.
pub(crate) fn resident_bytes(pids: &BTreeSet<u32>) -> u64 {
    // SAFETY: sysconf has no preconditions.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/statm")).ok())
        .filter_map(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| pages * page)
        .sum()
}

/// The sum of each process's peak resident memory (VmHWM), bytes.
pub(crate) fn peak_bytes(pids: &BTreeSet<u32>) -> u64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|status| {
            let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
            let kb = line.split_whitespace().nth(1)?.parse::<u64>().ok()?;
            Some(kb * 1024)
        })
        .sum()
}

/// Whole megabytes, rounded up as Lambda rounds.
pub(crate) fn to_mb(bytes: u64) -> u64 {
    bytes.div_ceil(MIB)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_memory() {
        let tree = process_tree(&[std::process::id()]);
        assert!(tree.contains(&std::process::id()));
        assert!(resident_bytes(&tree) > 0);
        assert!(peak_bytes(&tree) >= resident_bytes(&tree) / 2);
    }
}
