use crate::api::version_info;

pub(crate) fn run() -> anyhow::Result<()> {
    let info = version_info();
    println!("sovedge {}", env!("CARGO_PKG_VERSION"));
    println!(
        "git commit: {}",
        info["gitCommit"].as_str().unwrap_or("unknown")
    );
    println!("kubernetes: {}", info["gitVersion"].as_str().unwrap_or(""));
    println!("platform: {}", info["platform"].as_str().unwrap_or(""));
    Ok(())
}
