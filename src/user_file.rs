//! The one way wfc reads a file a user named (a `.wf` file or an import, a `--params` file,
//! a `--secret NAME=@FILE`): only a regular file, and never more than a limit.
//!
//! Reading `/dev/zero`, a FIFO nobody writes to or a huge file whole would exhaust memory or
//! hang, so the file is opened without blocking, refused unless it is a regular file, and read
//! through [`Read::take`] so that a file that grows while it is read still stops at the limit.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// The largest file wfc reads for a user: the same bound as a `.wf` source file.
pub const MAX_USER_FILE_BYTES: usize = crate::syntax::parser::MAX_SOURCE_BYTES;

/// The bytes of the regular file at `path`, at most `limit` of them; otherwise why not,
/// in a sentence that names the file.
pub fn read_user_file(path: &Path, limit: usize) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let file = open_without_blocking(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => format!("there is no file {shown}"),
        _ => format!("{shown} cannot be read: {error}"),
    })?;
    let metadata = file
        .metadata()
        .map_err(|error| format!("{shown} cannot be read: {error}"))?;
    if !metadata.is_file() {
        return Err(format!(
            "{shown} is {}, not a regular file",
            describe_kind(&metadata.file_type())
        ));
    }
    if metadata.len() > limit as u64 {
        return Err(too_large(path, &metadata.len().to_string(), limit));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("{shown} cannot be read: {error}"))?;
    if bytes.len() > limit {
        // The file grew after it was looked at.
        return Err(too_large(path, &format!("more than {limit}"), limit));
    }
    Ok(bytes)
}

/// [`read_user_file`] for text: the file must also be valid UTF-8.
pub fn read_user_text(path: &Path, limit: usize) -> Result<String, String> {
    let bytes = read_user_file(path, limit)?;
    String::from_utf8(bytes).map_err(|error| {
        format!(
            "{} is not valid UTF-8 (byte {} starts an invalid sequence)",
            path.display(),
            error.utf8_error().valid_up_to()
        )
    })
}

fn too_large(path: &Path, size: &str, limit: usize) -> String {
    format!(
        "{} is {size} bytes; the limit is {limit} bytes ({} MiB)",
        path.display(),
        limit >> 20
    )
}

/// Opens `path` for reading. On Unix, `O_NONBLOCK` keeps the open of a FIFO with no writer
/// from waiting forever; the file's kind is checked on the opened handle, so what was checked
/// is what is read.
fn open_without_blocking(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits());
    }
    options.open(path)
}

fn describe_kind(kind: &std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}
