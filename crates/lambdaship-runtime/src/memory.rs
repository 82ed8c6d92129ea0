//! Memory of an environment's process tree, read from /proc: what the REPORT line's
//! "Max Memory Used" shows and what the memory limit is checked against.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::os::unix::fs::FileExt;

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

/// Reads each process's peak resident memory (VmHWM) from /proc/PID/status, keeping the
/// files open between reads.
///
/// The REPORT line of every invocation needs the peak, and its read sits between the answer
/// and the environment's release. A kept /proc file is read again from offset 0 with fresh
/// content, which saves the open, stat and close of each process's file every time (about
/// half the cost of the read). A kept file also stays bound to its process: once that
/// process is gone the read fails, and a new process with the same id is opened afresh.
#[derive(Default)]
pub(crate) struct PeakReader {
    files: BTreeMap<u32, File>,
}

impl PeakReader {
    /// The sum of the peaks of `pids`, bytes; processes that cannot be read count 0.
    pub(crate) fn peak_bytes(&mut self, pids: &BTreeSet<u32>) -> u64 {
        self.files.retain(|pid, _| pids.contains(pid));
        let mut buffer = Vec::with_capacity(4096);
        let mut total = 0;
        for &pid in pids {
            let kept = self
                .files
                .get(&pid)
                .and_then(|file| vm_hwm(file, &mut buffer));
            let peak = match kept {
                Some(peak) => Some(peak),
                None => match File::open(format!("/proc/{pid}/status")) {
                    Ok(file) => {
                        let peak = vm_hwm(&file, &mut buffer);
                        self.files.insert(pid, file);
                        peak
                    }
                    Err(_) => {
                        self.files.remove(&pid);
                        None
                    }
                },
            };
            total += peak.unwrap_or(0);
        }
        total
    }
}

/// The VmHWM line of a /proc/PID/status file, read from its start, in bytes.
fn vm_hwm(file: &File, buffer: &mut Vec<u8>) -> Option<u64> {
    buffer.clear();
    let mut chunk = [0u8; 4096];
    // VmHWM usually comes in the first read; a long Groups line can push it further.
    loop {
        let read = file.read_at(&mut chunk, buffer.len() as u64).ok()?;
        buffer.extend_from_slice(chunk.get(..read)?);
        if let Some(kb) = find_vm_hwm_kb(buffer) {
            return Some(kb * 1024);
        }
        if read == 0 {
            return None;
        }
    }
}

/// The value of a complete `VmHWM:` line in `status`, in kB.
fn find_vm_hwm_kb(status: &[u8]) -> Option<u64> {
    let start = status.windows(6).position(|w| w == b"VmHWM:")?;
    let line = &status[start..];
    let end = line.iter().position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&line[..end]).ok()?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok()
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
        // This process alone: the other test's child may be in the tree.
        let alone = BTreeSet::from([std::process::id()]);
        let mut peaks = PeakReader::default();
        let first = peaks.peak_bytes(&alone);
        assert!(first >= resident_bytes(&alone) / 2);
        // Read again through the kept file: the same process, a peak that never falls.
        assert!(peaks.peak_bytes(&alone) >= first);
        assert_eq!(peaks.files.len(), 1);
    }

    #[test]
    fn a_process_gone_counts_nothing_and_its_file_is_let_go() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        let tree = BTreeSet::from([pid]);
        let mut peaks = PeakReader::default();
        assert!(peaks.peak_bytes(&tree) > 0);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(peaks.peak_bytes(&tree), 0);
        assert!(peaks.files.is_empty());
        assert_eq!(peaks.peak_bytes(&BTreeSet::new()), 0);
    }

    #[test]
    fn the_peak_line_is_found_only_once_complete() {
        let groups: String = (0..2000).map(|g| format!("{g} ")).collect();
        let status =
            format!("Name:\tpython\nGroups:\t{groups}\nVmPeak:\t 9000 kB\nVmHWM:\t 4242 kB\n");
        assert!(status.find("VmHWM").unwrap() > 4096);
        assert_eq!(find_vm_hwm_kb(status.as_bytes()), Some(4242));
        let cut = status.find("4242").unwrap() + 2;
        assert_eq!(find_vm_hwm_kb(&status.as_bytes()[..cut]), None);
    }
}
