//! `wvs serve`: the API, the dispatcher and the store, configured by flags, `WVS_*`
//! environment variables and an optional `wvs.toml`.

use std::path::PathBuf;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use wvs_server::config::defaults;
use wvs_server::{Config, ConfigLayer};

#[derive(clap::Args)]
pub struct Args {
    // The help is built at run time so that it names the default from its constant.
    #[arg(
        long,
        env = "WVS_CONFIG",
        help = format!(
            "A TOML file of settings (flags and environment win over it) [default: ./{} if present]",
            defaults::CONFIG_FILE
        )
    )]
    config: Option<PathBuf>,
    #[command(flatten)]
    settings: ConfigLayer,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let config = Config::load(args.settings, args.config.as_deref()).context("configuration")?;
    let shutdown = CancellationToken::new();
    wvs_server::server::cancel_on_signals(shutdown.clone());
    wvs_server::server::run(config, shutdown).await
}
