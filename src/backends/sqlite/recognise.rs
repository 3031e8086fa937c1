//! Recognising a wfc store from its file before SQLite writes anything to it.
//!
//! Opening a file with SQLite for writing is not neutral: switching the journal mode rewrites
//! the header, a last connection checkpoints a write-ahead log into the file, and a 0-byte
//! file is taken as an empty database that the first write fills. So the file's first 100
//! bytes (SQLite's header) are read with plain file I/O first, and only a file that is
//! already known to be a wfc store (or may be one, see [`Found::MaybeStore`]) is handed to
//! SQLite at all.

use super::schema::APPLICATION_ID;
use crate::runtime::BackendError;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What the first 16 bytes of every SQLite database file are.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// The size of SQLite's database header.
const HEADER_LEN: usize = 100;

/// Where the header keeps `PRAGMA application_id` (a big-endian 32-bit integer).
const APPLICATION_ID_AT: usize = 68;

/// What is at the store's path.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// Nothing: no store yet.
    Absent,
    /// A wfc store: its header carries wfc's application id.
    Store,
    /// An SQLite file whose header does not carry wfc's application id but that has a
    /// write-ahead log beside it, which may hold a newer header (a store that an older wfc was
    /// creating when it stopped). Only a read-only connection may look at it.
    MaybeStore,
}

/// Looks at the file at `path` without changing it; every file that is not (or cannot be) a
/// wfc store is a `Storage` error naming it and saying why.
pub fn recognise(path: &Path) -> Result<Found, BackendError> {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        // A file where a folder of the path should be also means no store: making one then
        // fails with an error about that folder.
        Err(error)
            if matches!(
                error.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Found::Absent)
        }
        Err(error) => return Err(unreadable(path, &error)),
    };
    if metadata.is_dir() {
        return Err(BackendError::storage(
            format!(
                "the state store `{}` is a folder, not a file",
                path.display()
            ),
            "remove or rename the folder, or choose another path for the store",
        ));
    }
    if metadata.len() == 0 {
        return Err(damaged(
            path,
            "it is empty (0 bytes): it was cut short or made by another program",
        ));
    }
    let mut header = Vec::with_capacity(HEADER_LEN);
    std::fs::File::open(path)
        .and_then(|file| file.take(HEADER_LEN as u64).read_to_end(&mut header))
        .map_err(|error| unreadable(path, &error))?;
    if header.len() < HEADER_LEN || !header.starts_with(MAGIC) {
        return Err(damaged(
            path,
            &format!(
                "it is not an SQLite database ({} bytes without SQLite's header): it is \
                 damaged or another program's file",
                metadata.len()
            ),
        ));
    }
    if application_id(&header) == Some(APPLICATION_ID) {
        return Ok(Found::Store);
    }
    let has_log = std::fs::metadata(log_of(path)).is_ok_and(|log| log.len() > 0);
    if has_log {
        Ok(Found::MaybeStore)
    } else {
        Err(not_ours(path))
    }
}

/// Where the header keeps the page size, the database's size in pages, and the two change
/// counters whose equality says that size is valid.
const PAGE_SIZE_AT: usize = 16;
const PAGE_COUNT_AT: usize = 28;
const CHANGE_COUNTER_AT: usize = 24;
const VALID_FOR_AT: usize = 92;

/// Why a file SQLite called malformed is so, when its size tells: "the file is 1000 bytes,
/// but its header says 4096". It is only an explanation of an error SQLite reported, not a
/// check of its own: while another process checkpoints its log into the file, the header can
/// be ahead of the file's length for a moment.
pub fn cut_short(path: &Path) -> Option<String> {
    let mut header = Vec::with_capacity(HEADER_LEN);
    let file = std::fs::File::open(path).ok()?;
    let length = file.metadata().ok()?.len();
    file.take(HEADER_LEN as u64).read_to_end(&mut header).ok()?;
    let number = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(header.get(at..at + 4)?.try_into().ok()?))
    };
    if number(CHANGE_COUNTER_AT)? != number(VALID_FOR_AT)? {
        return None;
    }
    let page_size = match u16::from_be_bytes(
        header
            .get(PAGE_SIZE_AT..PAGE_SIZE_AT + 2)?
            .try_into()
            .ok()?,
    ) {
        1 => 65_536,
        size => u64::from(size),
    };
    let expected = page_size * u64::from(number(PAGE_COUNT_AT)?);
    (length < expected).then(|| {
        format!("the file is {length} bytes, but its header says {expected}: it was cut short")
    })
}

/// The application id a header holds.
fn application_id(header: &[u8]) -> Option<i64> {
    let bytes: [u8; 4] = header
        .get(APPLICATION_ID_AT..APPLICATION_ID_AT + 4)?
        .try_into()
        .ok()?;
    Some(i64::from(i32::from_be_bytes(bytes)))
}

/// The write-ahead log SQLite keeps beside the database at `path`.
pub fn log_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// The error for an SQLite file that another program made.
pub fn not_ours(path: &Path) -> BackendError {
    BackendError::storage(
        format!(
            "`{}` is an SQLite file but not a wfc state store; wfc left it unchanged",
            path.display()
        ),
        "choose another path for the store, or move this file aside if it is not needed",
    )
}

/// The error for a store that is damaged: `why` says what is wrong with it.
pub fn damaged(path: &Path, why: &str) -> BackendError {
    BackendError::storage(
        format!("the state store `{}` is damaged: {why}", path.display()),
        damaged_hint(),
    )
}

/// What to do with a damaged store.
pub fn damaged_hint() -> String {
    "wfc does not change a damaged store: move it aside to start with an empty store (its \
     runs are then lost), or restore it from a backup"
        .to_string()
}

fn unreadable(path: &Path, error: &std::io::Error) -> BackendError {
    BackendError::storage(
        format!("cannot read the state store `{}`: {error}", path.display()),
        format!(
            "make `{}` readable by this user, or choose another path for the store",
            path.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_application_id_is_read_from_its_place_in_the_header() {
        let mut header = MAGIC.to_vec();
        header.resize(HEADER_LEN, 0);
        header[APPLICATION_ID_AT..APPLICATION_ID_AT + 4].copy_from_slice(b"wfc1");
        assert_eq!(application_id(&header), Some(APPLICATION_ID));
        assert_eq!(application_id(&header[..70]), None);
    }
}
