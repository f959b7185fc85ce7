//! A SQLite test database: a real file, in a temporary folder of its own.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// A SQLite database file (not yet created) in a fresh temporary folder,
/// removed with the folder on drop.
///
/// The file sits in a sub-folder that does not exist yet, so opening a
/// store on it also exercises making the folders, as a first start does.
///
/// On Linux the folder is on `/dev/shm`: still a real file with real
/// locking, but the store's `synchronous = FULL` costs no disk flush per
/// commit, as the PostgreSQL test databases run with
/// `synchronous_commit = off`.
pub struct SqliteDatabase {
    url: String,
    path: PathBuf,
    // Last: the folder goes after everything else is dropped.
    _dir: TempDir,
}

impl SqliteDatabase {
    /// A new temporary folder, and the URL of a database file in it.
    ///
    /// # Panics
    ///
    /// When no temporary folder can be made.
    pub fn create() -> SqliteDatabase {
        let dir = temporary_folder();
        let path = dir.path().join("data").join("userhub.db");
        SqliteDatabase {
            url: format!("sqlite://{}", path.display()),
            path,
            _dir: dir,
        }
    }

    /// `sqlite://<path>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database file (it exists once a store was opened on it).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl std::fmt::Debug for SqliteDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDatabase")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn temporary_folder() -> TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::Builder::new()
            .prefix("userhub-test-")
            .tempdir_in(shm)
    {
        return dir;
    }
    tempfile::Builder::new()
        .prefix("userhub-test-")
        .tempdir()
        .unwrap_or_else(|e| {
            panic!("cannot make a temporary folder for a SQLite test database: {e}")
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_in_a_folder_still_to_be_made_and_goes_on_drop() {
        let db = SqliteDatabase::create();
        assert_eq!(db.url(), format!("sqlite://{}", db.path().display()));
        assert!(db.path().is_absolute());
        let data = db.path().parent().unwrap();
        assert!(!data.exists());
        let folder = data.parent().unwrap().to_owned();
        assert!(folder.is_dir());

        std::fs::create_dir(data).unwrap();
        std::fs::write(db.path(), b"").unwrap();
        drop(db);
        assert!(!folder.exists());
    }
}
