//! Loading: finds the files, merges them key by key, interpolates, warns
//! about unknown and not-built options, builds the typed configuration, and
//! applies command-line overrides.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::build::build;
use crate::error::ConfigError;
use crate::ini::{self, IniFile};
use crate::interpolate::interpolate;
use crate::known::{self, KeyKind};
use crate::mask::mask_value;
use crate::raw::{canonical_section, Sections, Source, Value};
use crate::sections::Config;
use crate::show::typed_fields;
use crate::warning::Warning;

/// A loaded configuration: the typed sections, the warnings, and the raw
/// effective values with their sources.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The typed configuration.
    pub config: Config,
    /// Warnings to show the operator, deduplicated, in file order.
    pub warnings: Vec<Warning>,
    /// The files read, in load order.
    files: Vec<PathBuf>,
    /// Values set by files and overrides, as written (later wins).
    assigned: Sections,
    /// Effective values: `assigned` interpolated, plus typed defaults.
    pub(crate) values: Sections,
}

/// Loads `--config-file` paths (in order), then for each `--config-dir`
/// its `*.conf` files then its `*.ini` files, each group sorted by name.
/// Later files override earlier ones key by key.
pub fn load(files: &[PathBuf], dirs: &[PathBuf]) -> Result<Loaded, ConfigError> {
    let paths = config_paths(files, dirs)?;
    let mut parsed = Vec::with_capacity(paths.len());
    for path in paths {
        let text = fs::read_to_string(&path).map_err(|source| ConfigError::Io { path: path.clone(), source })?;
        parsed.push(ini::parse(&path, &text)?);
    }
    Loaded::from_files(parsed)
}

/// The files [`load`] reads, in order: `files`, then per directory its
/// `*.conf` then its `*.ini` files, sorted by name.
pub fn config_paths(files: &[PathBuf], dirs: &[PathBuf]) -> Result<Vec<PathBuf>, ConfigError> {
    let mut paths = files.to_vec();
    for dir in dirs {
        paths.extend(dir_files(dir)?);
    }
    Ok(paths)
}

fn dir_files(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let io = |source| ConfigError::Io { path: dir.to_path_buf(), source };
    let mut conf = Vec::new();
    let mut ini = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if !path.is_file() {
            continue;
        }
        match path.extension().and_then(|e| e.to_str()) {
            Some("conf") => conf.push(path),
            Some("ini") => ini.push(path),
            _ => {}
        }
    }
    conf.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    ini.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    conf.extend(ini);
    Ok(conf)
}

/// The typed defaults as effective values.
fn default_values() -> Sections {
    let mut values = Sections::new();
    for field in typed_fields(&Config::default()) {
        if let Some(text) = field.text {
            values
                .entry(field.section.to_string())
                .or_default()
                .insert(field.key, Value { raw: text.clone(), text, source: Source::Default });
        }
    }
    values
}

/// Position of a warning: (file index, line); overrides, then defaults, last.
fn position(origin: &Source, files: &[PathBuf]) -> (usize, usize) {
    match origin {
        Source::File { path, line } => (files.iter().position(|f| f == path).unwrap_or(files.len()), *line),
        Source::CommandLine => (files.len(), 0),
        Source::Default => (files.len() + 1, 0),
    }
}

/// Warnings about set options: unknown ones, and known ones whose feature
/// is not built yet (by their kind in the known-keys table).
fn option_warnings(values: &Sections) -> Vec<(Source, Warning)> {
    let mut warnings = Vec::new();
    for (section, keys) in values {
        for (key, value) in keys {
            let origin = &value.source;
            let path = match origin {
                Source::Default => continue,
                Source::File { path, .. } => Some(path.clone()),
                Source::CommandLine => None,
            };
            let warning = match known::lookup(section, key).map(|k| k.kind) {
                None => match origin {
                    Source::File { path, line } => Warning::UnknownOption {
                        section: section.clone(),
                        key: key.clone(),
                        path: path.clone(),
                        line: *line,
                    },
                    _ => continue,
                },
                Some(KeyKind::Typed | KeyKind::Stored) => continue,
                Some(KeyKind::NotBuilt(message)) => Warning::NotBuilt {
                    section: section.clone(),
                    key: key.clone(),
                    value: mask_value(key, &value.text),
                    origin: origin.clone(),
                    message: message.to_string(),
                },
                Some(KeyKind::SectionNotBuilt(message)) => {
                    Warning::SectionNotBuilt { section: section.clone(), path, message: message.to_string() }
                }
                Some(KeyKind::Agent) => Warning::AgentOptions { section: section.clone(), path },
            };
            warnings.push((origin.clone(), warning));
        }
    }
    warnings
}

impl Loaded {
    /// The configuration with no file at all: every default.
    pub fn defaults() -> Loaded {
        match Loaded::resolve(Vec::new(), Sections::new()) {
            Ok(loaded) => loaded,
            // Unreachable: the defaults are valid (tested). Stay usable anyway.
            Err(_) => Loaded {
                config: Config::default(),
                warnings: Vec::new(),
                files: Vec::new(),
                assigned: Sections::new(),
                values: default_values(),
            },
        }
    }

    /// Merges parsed files (later files override earlier ones key by key)
    /// and resolves them.
    pub(crate) fn from_files(files: Vec<IniFile>) -> Result<Loaded, ConfigError> {
        let mut assigned = Sections::new();
        let mut paths = Vec::with_capacity(files.len());
        for file in files {
            for entry in file.entries {
                assigned.entry(entry.section).or_default().insert(
                    entry.key,
                    Value {
                        text: entry.value.clone(),
                        raw: entry.value,
                        source: Source::File { path: file.path.clone(), line: entry.line },
                    },
                );
            }
            paths.push(file.path);
        }
        Loaded::resolve(paths, assigned)
    }

    /// Interpolates the assigned values over the defaults, collects the
    /// warnings and builds the typed configuration.
    fn resolve(files: Vec<PathBuf>, assigned: Sections) -> Result<Loaded, ConfigError> {
        let mut values = default_values();
        for (section, keys) in &assigned {
            let target = values.entry(section.clone()).or_default();
            for (key, value) in keys {
                target.insert(key.clone(), value.clone());
            }
        }
        interpolate(&mut values)?;
        let mut found = option_warnings(&values);
        let built = build(&values)?;
        found.extend(built.warnings.into_iter().map(|w| {
            let origin = match &w {
                Warning::NotBuilt { origin, .. } => origin.clone(),
                _ => Source::Default,
            };
            (origin, w)
        }));
        found.sort_by_key(|(origin, _)| position(origin, &files));
        let mut warnings: Vec<Warning> = Vec::with_capacity(found.len());
        for (_, warning) in found {
            if !warnings.contains(&warning) {
                warnings.push(warning);
            }
        }
        Ok(Loaded { config: built.config, warnings, files, assigned, values })
    }

    /// The effective value of `[section] key` (interpolated), from a file,
    /// an override, or the typed default. `DEFAULT` matches in any case.
    pub fn get(&self, section: &str, key: &str) -> Option<&Value> {
        self.values.get(&canonical_section(section)).and_then(|keys| keys.get(key))
    }

    /// Every effective value of a section (e.g. for an agent reading
    /// `[ovs]`), by key.
    pub fn section(&self, section: &str) -> Option<&BTreeMap<String, Value>> {
        self.values.get(&canonical_section(section))
    }

    /// The files read, in load order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Overrides `[section] key` with `value` from the command line, then
    /// re-validates and rebuilds everything (interpolation, warnings, typed
    /// sections). On error nothing changes. Unknown options are refused.
    pub fn set_override(&mut self, section: &str, key: &str, value: &str) -> Result<(), ConfigError> {
        let section = canonical_section(section);
        if !known::is_known(&section, key) {
            return Err(ConfigError::UnknownOverride { section, key: key.to_string() });
        }
        let mut assigned = self.assigned.clone();
        assigned.entry(section).or_default().insert(
            key.to_string(),
            Value { text: value.to_string(), raw: value.to_string(), source: Source::CommandLine },
        );
        *self = Loaded::resolve(self.files.clone(), assigned)?;
        Ok(())
    }
}

impl Default for Loaded {
    fn default() -> Self {
        Loaded::defaults()
    }
}
