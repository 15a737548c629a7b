//! Temporary directories for tests (removed on drop).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under the system temporary directory.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new() -> TempDir {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("neutrino-config-test-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `text` to `name` in this directory (creating subdirectories).
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create parent");
        }
        fs::write(&path, text).expect("write file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Loads in-memory files as if read from the given paths, in order.
pub fn from_texts(files: &[(&str, &str)]) -> Result<crate::Loaded, crate::ConfigError> {
    let mut parsed = Vec::new();
    for (path, text) in files {
        parsed.push(crate::ini::parse(Path::new(path), text)?);
    }
    crate::Loaded::from_files(parsed)
}

/// Like [`from_texts`] with one file, expecting success.
pub fn loaded(path: &str, text: &str) -> crate::Loaded {
    from_texts(&[(path, text)]).expect("loads")
}

/// Like [`from_texts`] with one file, expecting an error; returns its message.
pub fn error(path: &str, text: &str) -> String {
    match from_texts(&[(path, text)]) {
        Ok(_) => panic!("expected an error for {text:?}"),
        Err(err) => err.to_string(),
    }
}

/// The warnings as strings.
pub fn warning_texts(loaded: &crate::Loaded) -> Vec<String> {
    loaded.warnings.iter().map(ToString::to_string).collect()
}
