//! Operator commands against a deployment's table.
//!
//! `vericode-admin invite [N]` prints N (default 1) invite codes, each valid
//! for 7 days. This is how the first account of an invite-only deployment
//! (`REGISTRATION_MODE=invite`) is created: run it with the deployment's
//! `TABLE_NAME`, `CODE_KEY` and `JWT_SECRET` and AWS credentials, then
//! register with the printed invite.

use shared::App;
use shared::config::{Config, Secrets};
use shared::delivery::outbox::Outbox;
use shared::ports::SystemClock;
use shared::store::dynamodb::DynamoStore;
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
    let config = Config::from_env(Secrets::Required)?;
    let store = DynamoStore::from_env(&config).await;
    // Nothing is sent from here; the outbox only completes the app.
    let app = App::new(config, Arc::new(store), Arc::new(Outbox::new(Arc::new(SystemClock))))?;
    for _ in 0..count {
        let invite = shared::accounts::create_invite(&app, "vericode-admin").await?;
        println!("{}", invite.invite);
    }
    Ok(())
}
