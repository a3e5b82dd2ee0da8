//! The flags and environment variables of a binary's clap command, taken from its own types
//! (`clap::CommandFactory`), so a renamed or removed flag fails the checks at once.
//!
//! ```
//! #[derive(clap::Parser)]
//! struct Cli {
//!     /// A flag read from the environment too.
//!     #[arg(long, env = "REDIS_URL", visible_alias = "redis")]
//!     redis_url: Option<String>,
//! }
//! let cmd = <Cli as clap::CommandFactory>::command();
//! let flags = lcr_deploy::flags::long_flags(&cmd);
//! assert!(flags.contains("--redis-url") && flags.contains("--redis") && flags.contains("--help"));
//! assert_eq!(lcr_deploy::flags::env_flags(&cmd)["REDIS_URL"], "redis-url");
//! ```

use std::collections::{BTreeMap, BTreeSet};

/// Every `--long` name the command accepts: each argument's long flag and its long aliases
/// (hidden ones included), and the `--help` (and `--version`) clap adds.
pub fn long_flags(command: &clap::Command) -> BTreeSet<String> {
    let mut command = command.clone();
    // Adds clap's own --help / --version.
    command.build();
    command
        .get_arguments()
        .flat_map(|a| {
            a.get_long()
                .into_iter()
                .chain(a.get_all_aliases().unwrap_or_default())
                .map(|l| format!("--{l}"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The environment variables the command reads, each with its argument's long flag (without
/// the dashes).
pub fn env_flags(command: &clap::Command) -> BTreeMap<String, String> {
    command
        .get_arguments()
        .filter_map(|a| Some((a.get_env()?.to_str()?.to_owned(), a.get_long()?.to_owned())))
        .collect()
}
