//! `wvs backup FILE`: a consistent copy of a SQLite store, taken while `wvs serve` keeps
//! ingesting and delivering (it reads the file; it does not take the serve lock).

use std::path::PathBuf;

use wvs_server::config::defaults;

#[derive(clap::Args)]
pub struct Args {
    /// The new file to write the copy to
    file: PathBuf,
    /// SQLite file path or `sqlite://` URL of the store to copy
    #[arg(long, env = "WVS_DATABASE_URL", default_value = defaults::DATABASE)]
    database_url: String,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let url = wvs_server::config::database_url(&args.database_url);
    wvs_server::server::backup(&url, &args.file).await?;
    println!("backed up to {}", args.file.display());
    // Hook URLs and secrets are encrypted at rest: the copy is readable only with its key.
    println!(
        "keep the secret key (the wvs.key file beside the database, or --secret-key) with it: \
         hook URLs and secrets cannot be read without it"
    );
    Ok(())
}
