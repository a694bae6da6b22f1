//! Operator commands against a deployment's table. Run with the
//! deployment's `TABLE_NAME`, `CODE_KEY` and `JWT_SIGNING_KEY` and AWS credentials.
//!
//! - `vericode-admin invite [N]` prints N (default 1) invite codes, each
//!   valid for 7 days. This is how the first account of an invite-only
//!   deployment (`REGISTRATION_MODE=invite`) is created.
//! - `vericode-admin api-key create --name NAME` prints a new API key for an
//!   app's server (`Authorization: ApiKey <key>`) and its id. The key is
//!   shown this once: only its keyed hash is stored.
//! - `vericode-admin api-key revoke ID` revokes a key by its id.
//! - `vericode-admin sms-guard status` lists the prefixes and countries
//!   the SMS fraud guard blocks (or, in monitor mode, watches): until when,
//!   since when and why.
//! - `vericode-admin sms-guard unblock PREFIX` lifts the block of a prefix
//!   (`+447911123`) or a country (`+44`) as `status` names it.
//! - `vericode-admin jwt-key new` prints a new token signing key for
//!   `JWT_SIGNING_KEY` and its public half (for `JWT_PREVIOUS_PUBLIC_KEYS`
//!   after the next rotation). Needs no settings.

use domain::Services;
use domain::config::Secrets;
use edge::compose::{Deployment, config_from_env};
use std::sync::Arc;

const USAGE: &str = "usage: vericode-admin invite [N]
       vericode-admin api-key create --name NAME
       vericode-admin api-key revoke ID
       vericode-admin sms-guard status
       vericode-admin sms-guard unblock PREFIX
       vericode-admin jwt-key new";

enum Command {
    Invite(u32),
    CreateKey(String),
    RevokeKey(String),
    GuardStatus,
    Unblock(String),
    NewJwtKey,
}

fn parse(args: &[String]) -> Result<Command, String> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["invite"] => Ok(Command::Invite(1)),
        ["invite", n] => {
            n.parse().map(Command::Invite).map_err(|_| "N must be a whole number".into())
        }
        ["api-key", "create", "--name", name] => Ok(Command::CreateKey(name.to_string())),
        ["api-key", "revoke", id] => Ok(Command::RevokeKey(id.to_string())),
        ["sms-guard", "status"] => Ok(Command::GuardStatus),
        ["sms-guard", "unblock", name] => Ok(Command::Unblock(name.to_string())),
        ["jwt-key", "new"] => Ok(Command::NewJwtKey),
        _ => Err(USAGE.into()),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = parse(&args).unwrap_or_else(|usage| {
        eprintln!("{usage}");
        std::process::exit(2);
    });
    if let Command::NewJwtKey = command {
        return new_jwt_key();
    }
    let config = config_from_env(Secrets::Required)?;
    let store = Deployment::from_env().store(&aws::sdk_config().await);
    // Nothing is sent from here.
    let services = Services::new(config, Arc::new(store))?;
    match command {
        Command::Invite(count) => {
            for _ in 0..count {
                let invite = domain::accounts::create_invite(&services, "vericode-admin").await?;
                println!("{}", invite.invite);
            }
        }
        Command::CreateKey(name) => {
            let key = domain::api_keys::create(&services, &name).await?;
            println!("{}", key.key);
            eprintln!(
                "id {} ({}): shown once, store it now; revoke with `api-key revoke {}`",
                key.id, key.name, key.id
            );
        }
        Command::GuardStatus => guard_status(&services).await?,
        Command::Unblock(name) => {
            let now = services.clock.now();
            if !domain::sms::guard::unblock(&*services.store, name.trim(), now).await? {
                eprintln!("no block on {name} (see `sms-guard status`)");
                std::process::exit(1);
            }
            eprintln!("unblocked {name}");
        }
        Command::NewJwtKey => new_jwt_key()?,
        Command::RevokeKey(id) => {
            if !domain::api_keys::revoke(&services, &id).await? {
                eprintln!("no API key {id}");
                std::process::exit(1);
            }
            eprintln!("revoked {id}");
        }
    }
    Ok(())
}

/// One line per block in force: scope, name, mode, until, since, reason.
async fn guard_status(services: &Services) -> Result<(), Box<dyn std::error::Error>> {
    let now = services.clock.now();
    let blocks = domain::sms::guard::blocks(&*services.store, now).await?;
    if blocks.is_empty() {
        eprintln!("nothing is blocked");
    }
    for b in blocks {
        let mode = if b.monitor { "monitor" } else { "enforce" };
        println!(
            "{}\t{}\t{mode}\tuntil {}\tsince {}\t{}",
            b.scope.as_str(),
            b.name,
            domain::time::rfc3339(b.block.until),
            domain::time::rfc3339(b.block.at),
            b.block.reason
        );
    }
    Ok(())
}

/// A fresh Ed25519 signing key and its public half.
fn new_jwt_key() -> Result<(), Box<dyn std::error::Error>> {
    use base64::Engine as _;
    let mut seed = [0u8; 32];
    domain::ports::Random::fill(&domain::ports::OsRandom, &mut seed)?;
    let public = domain::token::public_key(&seed);
    let b64 = base64::engine::general_purpose::STANDARD;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    println!("JWT_SIGNING_KEY={}", b64.encode(seed));
    println!(
        "public key (its JWK x; for JWT_PREVIOUS_PUBLIC_KEYS after the next rotation): {}",
        url.encode(public)
    );
    Ok(())
}
