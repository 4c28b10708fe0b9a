//! `sovedge image`: air-gap imports and the list of local images. Works on
//! the data directory directly, whether or not the server runs: the store
//! locks and renames atomically, and the server reads it on every lookup.

use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;

use crate::image::{ImageStore, PullProgress};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Import OCI image layout or docker-save archives (plain or gzip).
    Import {
        /// Data directory of the server the images are for.
        #[arg(long, default_value = "/var/lib/sovedge", env = "SOVEDGE_DATA_DIR")]
        data_dir: PathBuf,
        /// Archives to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List local images.
    Ls {
        /// Data directory of the server whose images to list.
        #[arg(long, default_value = "/var/lib/sovedge", env = "SOVEDGE_DATA_DIR")]
        data_dir: PathBuf,
    },
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Import { data_dir, files } => import(data_dir, files),
        Command::Ls { data_dir } => ls(data_dir),
    }
}

fn open(data_dir: &std::path::Path) -> anyhow::Result<ImageStore> {
    let root = data_dir.join("content");
    ImageStore::open(&root).with_context(|| format!("open image store {}", root.display()))
}

fn import(data_dir: PathBuf, files: Vec<PathBuf>) -> anyhow::Result<()> {
    let store = open(&data_dir)?;
    let tty = std::io::stderr().is_terminal();
    for file in files {
        let last_line = RefCell::new(String::new());
        let progress = |p: PullProgress| {
            let line = match p {
                PullProgress::Layer { done, total, .. } if tty => bar(&file, done, total),
                PullProgress::Layer { done, total, .. } if done == total => {
                    format!("{}: read {}", file.display(), human(total))
                }
                PullProgress::Layer { .. } | PullProgress::Resolving { .. } => return,
                PullProgress::Unpacking { digest } => format!("unpacking layer {digest}"),
                PullProgress::Done { digest, bytes } => {
                    format!("imported {digest} ({})", human(bytes))
                }
            };
            let mut err = std::io::stderr().lock();
            if tty {
                let _ = write!(err, "\r\x1b[2K{line}");
                if !line.contains('[') {
                    let _ = writeln!(err);
                }
            } else if *last_line.borrow() != line {
                let _ = writeln!(err, "{line}");
            }
            *last_line.borrow_mut() = line;
        };
        let images = store
            .import_archive(&file, &progress)
            .with_context(|| format!("import {}", file.display()))?;
        if tty {
            eprintln!();
        }
        for image in images {
            let name = image.references.first().cloned().unwrap_or_default();
            println!("{} {}", image.digest, name);
        }
    }
    Ok(())
}

fn ls(data_dir: PathBuf) -> anyhow::Result<()> {
    let store = open(&data_dir)?;
    let mut rows = vec![(
        "REFERENCE".to_string(),
        "DIGEST".to_string(),
        "SIZE".to_string(),
    )];
    for image in store.list()? {
        let size = human(image.size);
        if image.references.is_empty() {
            rows.push(("<none>".into(), image.digest.clone(), size.clone()));
        }
        for r in &image.references {
            rows.push((r.clone(), image.digest.clone(), size.clone()));
        }
    }
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let mut out = std::io::stdout().lock();
    for (a, b, c) in rows {
        writeln!(out, "{a:w0$}   {b:w1$}   {c}")?;
    }
    Ok(())
}

fn bar(file: &std::path::Path, done: u64, total: u64) -> String {
    const WIDTH: u64 = 30;
    let filled = (done.min(total) * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH);
    format!(
        "{} [{}{}] {}/{}",
        file.file_name().unwrap_or_default().to_string_lossy(),
        "#".repeat(filled as usize),
        " ".repeat((WIDTH - filled) as usize),
        human(done),
        human(total)
    )
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}
