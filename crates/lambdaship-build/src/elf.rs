//! The architecture check on native code.
//!
//! Written by hand: it reads two fields of the ELF header (class/byte order and
//! `e_machine`), which does not need a full ELF parser crate.

/// The `e_machine` of an ELF file, or `None` when `bytes` is not one.
pub fn elf_machine(bytes: &[u8]) -> Option<u16> {
    if bytes.len() < 20 || &bytes[..4] != b"\x7fELF" {
        return None;
    }
    let field = [bytes[18], bytes[19]];
    Some(match bytes[5] {
        2 => u16::from_be_bytes(field),
        _ => u16::from_le_bytes(field),
    })
}

/// A readable name for an `e_machine` value.
pub fn machine_name(machine: u16) -> String {
    match machine {
        3 => "x86 (32-bit)".to_string(),
        40 => "arm (32-bit)".to_string(),
        62 => "x86_64".to_string(),
        183 => "arm64 (aarch64)".to_string(),
        other => format!("ELF machine {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_machine_of_this_test_binary() {
        let exe = std::env::current_exe().expect("current exe");
        let bytes = std::fs::read(exe).expect("read");
        let expected = if cfg!(target_arch = "x86_64") {
            62
        } else {
            183
        };
        assert_eq!(elf_machine(&bytes), Some(expected));
        assert_eq!(elf_machine(b"#!/bin/sh\n"), None);
    }
}
