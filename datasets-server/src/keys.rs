//! API keys: their scopes, generation and hashing.
//!
//! A key is 32 random bytes, written `dsk_<64 hex digits>`. Only its SHA-256
//! is stored: keys are high-entropy, so a fast hash is enough, and lookups go
//! by hash, so how long a prefix of a guess matches never shows in timing.

use sha2::{Digest, Sha256};

/// The prefix of every key this server issues.
pub const KEY_PREFIX: &str = "dsk_";

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes {
    /// `project:read_datasets`: every GET.
    pub read: bool,
    /// `project:write_datasets`: POST, PUT, PATCH, DELETE.
    pub write: bool,
}

impl Scopes {
    /// Read and write.
    pub const READ_WRITE: Scopes = Scopes {
        read: true,
        write: true,
    };
    /// Read only.
    pub const READ_ONLY: Scopes = Scopes {
        read: true,
        write: false,
    };

    /// Parses a comma-separated list of `read` and `write` (or their full
    /// names `project:read_datasets`, `project:write_datasets`).
    pub fn parse(list: &str) -> Result<Scopes, String> {
        let mut scopes = Scopes::default();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item {
                "read" | "project:read_datasets" => scopes.read = true,
                "write" | "project:write_datasets" => scopes.write = true,
                other => {
                    return Err(format!(
                        "unknown scope {other:?}; expected read, write or both (read,write)"
                    ));
                }
            }
        }
        if !scopes.read && !scopes.write {
            return Err("a key needs at least one scope: read, write".to_owned());
        }
        Ok(scopes)
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = [
            (self.read, "project:read_datasets"),
            (self.write, "project:write_datasets"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        f.write_str(&names.join(","))
    }
}

/// A new random key.
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    let mut key = String::with_capacity(KEY_PREFIX.len() + 64);
    key.push_str(KEY_PREFIX);
    for byte in bytes {
        key.push_str(&format!("{byte:02x}"));
    }
    key
}

/// The stored form of a key.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The part of a key that may be shown in listings: the prefix and the first
/// four random bytes, enough to recognise a key, useless to forge one.
pub fn display_prefix(key: &str) -> String {
    key.chars().take(KEY_PREFIX.len() + 8).collect()
}
