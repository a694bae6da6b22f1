//! Operator commands against a deployment's table.
//!
//! `vericode-admin invite [N]` prints N (default 1) invite codes, each valid
//! for 7 days. This is how the first account of an invite-only deployment
//! (`REGISTRATION_MODE=invite`) is created: run it with the deployment's
//! `TABLE_NAME`, `CODE_KEY` and `JWT_SECRET` and AWS credentials, then
//! register with the printed invite.

use domain::Services;
use domain::config::Secrets;
use edge::compose::{Deployment, config_from_env};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = match args.as_slice() {
        [cmd] if cmd == "invite" => 1,
        [cmd, n] if cmd == "invite" => n.parse::<u32>().map_err(|_| "N must be a whole number")?,
        _ => {
            eprintln!("usage: vericode-admin invite [N]");
            std::process::exit(2);
        }
    };
    let config = config_from_env(Secrets::Required)?;
    let store = Deployment::from_env().store(&aws::sdk_config().await);
    // Nothing is sent from here.
    let services = Services::new(config, Arc::new(store))?;
    for _ in 0..count {
        let invite = domain::accounts::create_invite(&services, "vericode-admin").await?;
        println!("{}", invite.invite);
    }
    Ok(())
}
