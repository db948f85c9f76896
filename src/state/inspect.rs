//! What a run would meet in the state directory, looked at without writing
//! anything (for `check`), as the user running it: the checks of
//! `FileStore::open` and of every reader (`paths.rs`), on the directory and
//! on everything in it, plus whether this user may create the directory or
//! write in it. The error is the one a run would stop on.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::{Access, AtFlags, CWD};

use super::accounts::Account;
use super::error::StateError;
use super::paths::{check_owned, io_err};

/// At most this many entries are looked at (a state directory holds a few
/// files per node and service).
const MAX_ENTRIES: usize = 200_000;

/// The state directory, as a run would meet it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Inspection {
    /// It exists, belongs to the running user, nobody else may write in
    /// it, and this user may.
    Ready {
        owner: Account,
        /// Its permission bits.
        mode: u32,
        /// Files and directories in it (up to the cap).
        entries: usize,
    },
    /// It does not exist; the running user may create it (and its missing
    /// parents) in `parent`, the nearest directory that exists.
    Creatable { parent: PathBuf },
}

/// Inspects the state directory `root` as the user running this process.
pub(crate) fn inspect(root: &Path) -> Result<Inspection, StateError> {
    let meta = match fs::symlink_metadata(root) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return creatable(root),
        Err(e) => return Err(io_err(root, "inspect")(e)),
    };
    check_owned(root, &meta, true)?;
    writable(root, "create files in")?;
    let mut entries = 0;
    walk(root, &mut entries)?;
    Ok(Inspection::Ready {
        owner: Account::running(),
        mode: std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777,
        entries,
    })
}

/// The missing `root` can be created: the nearest existing directory above
/// it is writable by this user. The error is the one a run would get.
fn creatable(root: &Path) -> Result<Inspection, StateError> {
    let mut parent = root.parent();
    while let Some(p) = parent {
        match fs::metadata(p) {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound => parent = p.parent(),
            Err(e) => return Err(io_err(p, "inspect")(e)),
        }
    }
    let Some(existing) = parent else {
        return Err(io_err(root, "create the directory")(io::Error::from(
            io::ErrorKind::NotFound,
        )));
    };
    // As FileStore::open: the missing parents first, then the directory.
    let (path, action) = if Some(existing) == root.parent() {
        (root, "create the directory")
    } else {
        (
            root.parent().unwrap_or(root),
            "create the parent of the state directory",
        )
    };
    rustix::fs::accessat(
        CWD,
        existing,
        Access::WRITE_OK | Access::EXEC_OK,
        AtFlags::EACCESS,
    )
    .map_err(|errno| io_err(path, action)(io::Error::from(errno)))?;
    Ok(Inspection::Creatable {
        parent: existing.to_path_buf(),
    })
}

/// This user may create and remove entries in the directory `dir`.
fn writable(dir: &Path, action: &'static str) -> Result<(), StateError> {
    rustix::fs::accessat(
        CWD,
        dir,
        Access::WRITE_OK | Access::EXEC_OK,
        AtFlags::EACCESS,
    )
    .map_err(|errno| io_err(dir, action)(io::Error::from(errno)))
}

/// Every entry under `dir`, links not followed: each a directory or a
/// regular file of this user that nobody else may write, and each
/// directory writable by this user.
fn walk(dir: &Path, entries: &mut usize) -> Result<(), StateError> {
    let listing = fs::read_dir(dir).map_err(io_err(dir, "read"))?;
    for entry in listing {
        if *entries >= MAX_ENTRIES {
            return Ok(());
        }
        *entries += 1;
        let path = entry.map_err(io_err(dir, "read"))?.path();
        let meta = fs::symlink_metadata(&path).map_err(io_err(&path, "inspect"))?;
        let is_dir = meta.file_type().is_dir();
        check_owned(&path, &meta, is_dir)?;
        if is_dir {
            writable(&path, "create files in")?;
            walk(&path, entries)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn a_missing_directory_is_creatable_where_this_user_may_write() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("a/b/state");
        assert_eq!(
            inspect(&root).unwrap(),
            Inspection::Creatable {
                parent: dir.path().to_path_buf()
            }
        );
        // Nothing was created.
        assert!(!dir.path().join("a").exists());
    }

    #[test]
    fn a_directory_of_this_user_is_ready_and_its_contents_checked() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("state");
        super::super::files::FileStore::open(&root).unwrap();
        let Inspection::Ready { mode, entries, .. } = inspect(&root).unwrap() else {
            panic!()
        };
        assert_eq!(mode, 0o700);
        assert!(entries >= 7, "{entries}");

        // A link planted inside, or a file others may write: refused, as
        // a run refuses it.
        let link = root.join("records/web01~HTTP.json");
        std::os::unix::fs::symlink("/etc/passwd", &link).unwrap();
        let e = inspect(&root).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        std::fs::remove_file(&link).unwrap();
        let file = root.join("records/x.json");
        std::fs::write(&file, "{}").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = inspect(&root).unwrap_err();
        assert!(e.to_string().contains("other users may write"), "{e}");
    }

    #[test]
    fn a_file_in_place_of_the_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("state");
        std::fs::write(&root, "").unwrap();
        let e = inspect(&root).unwrap_err();
        assert!(e.to_string().contains("not a directory"), "{e}");
    }
}
