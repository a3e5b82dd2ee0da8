//! The load balancer's nginx config: upstreams, `listen` ports, `proxy_pass` targets.
//!
//! ```
//! let n = lcr_deploy::nginx::parse_nginx(
//!     "upstream up { ip_hash; server a:1; } server { listen 9; location / { proxy_pass http://up; } }",
//! );
//! assert_eq!(n.upstreams["up"], (true, vec!["a:1".to_owned()]));
//! assert_eq!(n.listen, vec![9]);
//! ```

use std::collections::BTreeMap;

/// What the checks read from the nginx config.
#[derive(Debug, Default)]
pub struct Nginx {
    /// upstream name → (`ip_hash` present, `host:port` servers).
    pub upstreams: BTreeMap<String, (bool, Vec<String>)>,
    /// The `listen` ports.
    pub listen: Vec<u16>,
    /// The `proxy_pass` URLs.
    pub proxy_pass: Vec<String>,
    /// The config without its comments.
    pub text: String,
}

/// Reads an nginx config (statements end at `;`, blocks at `}`; `#` comments are dropped).
pub fn parse_nginx(text: &str) -> Nginx {
    let clean: String = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    // Statements end at `;`, `{` or `}`.
    let mut nginx = Nginx {
        text: clean.clone(),
        ..Nginx::default()
    };
    let mut stack: Vec<Vec<String>> = Vec::new();
    let mut current = String::new();
    for c in clean.chars() {
        match c {
            '{' => {
                stack.push(current.split_whitespace().map(str::to_owned).collect());
                current.clear();
            }
            '}' => {
                stack.pop();
                current.clear();
            }
            ';' => {
                let statement = std::mem::take(&mut current);
                let words: Vec<&str> = statement.split_whitespace().collect();
                let block = stack.last().cloned().unwrap_or_default();
                let in_upstream = block.first().map(String::as_str) == Some("upstream");
                match (in_upstream, words.as_slice()) {
                    (true, ["server", addr, ..]) => {
                        let name = block.get(1).cloned().unwrap_or_default();
                        nginx
                            .upstreams
                            .entry(name)
                            .or_default()
                            .1
                            .push((*addr).to_owned());
                    }
                    (true, ["ip_hash"]) => {
                        let name = block.get(1).cloned().unwrap_or_default();
                        nginx.upstreams.entry(name).or_default().0 = true;
                    }
                    (false, ["listen", addr, ..]) => {
                        let port = addr.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
                        nginx.listen.extend(port);
                    }
                    (false, ["proxy_pass", url]) => nginx.proxy_pass.push((*url).to_owned()),
                    _ => {}
                }
            }
            c => current.push(c),
        }
    }
    nginx
}
