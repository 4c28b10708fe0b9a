use std::path::PathBuf;

use anyhow::Context;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Data directory of the server whose kubeconfig to print.
    #[arg(long, default_value = "/var/lib/sovedge", env = "SOVEDGE_DATA_DIR")]
    data_dir: PathBuf,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let path = args.data_dir.join("admin.kubeconfig");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "read {} (has the server run with this data directory?)",
            path.display()
        )
    })?;
    print!("{text}");
    Ok(())
}
