//! `wvs vacuum`: compacts a stopped SQLite store, giving the pages that retention freed back
//! to the file system (a running store reuses them by itself, without growing).

use wvs_server::config::defaults;

#[derive(clap::Args)]
pub struct Args {
    /// SQLite file path or `sqlite://` URL of the (stopped) store to compact
    #[arg(long, env = "WVS_DATABASE_URL", default_value = defaults::DATABASE)]
    database_url: String,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let url = wvs_server::config::database_url(&args.database_url);
    let (before, after) = wvs_server::server::vacuum(&url).await?;
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    println!("vacuumed: {:.1} MiB -> {:.1} MiB", mib(before), mib(after));
    Ok(())
}
