//! `wvs migrate`: applies the store's schema migrations and exits, so that an operator can
//! upgrade the database before starting (new) nodes. `wvs serve` applies them too.

use wvs_server::config::defaults;

#[derive(clap::Args)]
pub struct Args {
    /// SQLite file path or `sqlite://` URL, or a `postgres://` URL
    #[arg(long, env = "WVS_DATABASE_URL", default_value = defaults::DATABASE)]
    database_url: String,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let url = wvs_server::config::database_url(&args.database_url);
    let version = wvs_server::server::migrate(&url).await?;
    println!("schema at version {version}");
    Ok(())
}
