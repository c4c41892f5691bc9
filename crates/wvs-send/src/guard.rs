//! The SSRF guard: the [`OutboundPolicy`] applied to URLs and to the addresses their host
//! names resolve to.
//!
//! Names are checked where they are resolved, in a `reqwest` DNS resolver that returns only
//! the addresses the policy allows: the connection goes to exactly the addresses checked,
//! with no second lookup that a rebinding DNS server could answer differently. IP-literal
//! hosts never reach a resolver (the connector connects to them directly), so
//! [`Guard::check_literal`] checks them before anything is sent.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use crate::policy::{Blocked, OutboundPolicy, Refusal};
use crate::target;

/// A boxed future, as trait objects need.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Turns a host name into addresses. [`SystemResolver`] asks the operating system; tests
/// put in a fixed table so that a name can stand for any address.
pub trait HostResolver: Send + Sync + 'static {
    fn resolve<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>>;
}

/// The operating system's resolver (`getaddrinfo`, `/etc/hosts` included), through tokio.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl HostResolver for SystemResolver {
    fn resolve<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host, 0)).await?;
            Ok(addrs.map(|addr| addr.ip()).collect())
        })
    }
}

/// The policy and the resolver that names are checked through. Cheap to clone.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<GuardInner>,
}

struct GuardInner {
    policy: OutboundPolicy,
    resolver: Arc<dyn HostResolver>,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

/// Why a host name gave no address to connect to.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ResolveError {
    #[error(transparent)]
    Lookup(io::Error),
    #[error(transparent)]
    Refused(Refusal),
}

impl Guard {
    /// A guard that resolves names with the operating system's resolver.
    pub fn new(policy: OutboundPolicy) -> Guard {
        Guard::with_resolver(policy, Arc::new(SystemResolver))
    }

    pub fn with_resolver(policy: OutboundPolicy, resolver: Arc<dyn HostResolver>) -> Guard {
        Guard {
            inner: Arc::new(GuardInner { policy, resolver }),
        }
    }

    pub fn policy(&self) -> &OutboundPolicy {
        &self.inner.policy
    }

    /// Checks a hook URL when it is saved, so the API can refuse it with the reason, before
    /// any delivery. Every delivery checks again: DNS answers and the policy can change.
    ///
    /// `url` may be a template: each `{name}` placeholder is filled from `variables`. A
    /// placeholder without a value is unknown: in the host, the host cannot be checked now
    /// (it is checked at each delivery) and only the URL's shape is; elsewhere it does not
    /// matter (an unknown port is taken as one that is not the instance's own).
    /// A host name that does not resolve now is not refused: it may exist by the time
    /// events are sent. A name is refused when none of its addresses may be reached, as a
    /// delivery would be. The message does not name a host's address or a port that comes
    /// from a variable.
    pub async fn check_url(
        &self,
        url: &str,
        variables: &[(String, String)],
        system_hook: bool,
    ) -> Result<(), Refusal> {
        // A stand-in that is valid anywhere in a URL, port included.
        const UNKNOWN: &str = "0";
        let value = |name: &str| -> Result<&str, Infallible> {
            Ok(variables
                .iter()
                .find(|(key, _)| key == name)
                .map_or(UNKNOWN, |(_, value)| value.as_str()))
        };
        let Ok(filled) = target::substitute_with(url, value);
        let host_variables = target::host_variables(url);
        let host_unknown = host_variables
            .iter()
            .any(|name| !variables.iter().any(|(key, _)| key == name));
        let parsed = Url::parse(&filled).map_err(Refusal::InvalidUrl)?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Refusal::Scheme);
        }
        if host_unknown {
            return Ok(());
        }
        let hidden = target::hidden_parts(url);
        let port = parsed.port_or_known_default();
        let result = match parsed.host() {
            Some(Host::Domain(name)) => match self.resolve_checked(name, port, system_hook).await {
                Ok(_) | Err(ResolveError::Lookup(_)) => Ok(()),
                Err(ResolveError::Refused(refusal)) => Err(refusal),
            },
            _ => self.check_literal(&parsed, system_hook),
        };
        result.map_err(|refusal| refusal.hiding(hidden))
    }

    /// Checks a URL whose host is an IP literal (the connector never resolves those); a
    /// URL with a host name passes here and is checked where the name is resolved.
    pub(crate) fn check_literal(&self, url: &Url, system_hook: bool) -> Result<(), Refusal> {
        let ip = match url.host() {
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(Host::Domain(_)) => return Ok(()),
            // http(s) URLs always have a host; refuse rather than assume.
            None => return Err(Refusal::InvalidUrl(url::ParseError::EmptyHost)),
        };
        self.inner
            .policy
            .check(ip, url.port_or_known_default(), None, system_hook)
            .map_err(Refusal::from)
    }

    /// The addresses of `host` that the policy allows; a refusal (the first address's)
    /// when it allows none.
    pub(crate) async fn resolve_checked(
        &self,
        host: &str,
        port: Option<u16>,
        system_hook: bool,
    ) -> Result<Vec<IpAddr>, ResolveError> {
        let resolved = self
            .inner
            .resolver
            .resolve(host)
            .await
            .map_err(ResolveError::Lookup)?;
        if resolved.is_empty() {
            return Err(ResolveError::Lookup(io::Error::new(
                io::ErrorKind::NotFound,
                "the name has no addresses",
            )));
        }
        let mut first_refusal: Option<Blocked> = None;
        let allowed: Vec<IpAddr> = resolved
            .into_iter()
            .filter(
                |&ip| match self.inner.policy.check(ip, port, Some(host), system_hook) {
                    Ok(()) => true,
                    Err(blocked) => {
                        first_refusal.get_or_insert(blocked);
                        false
                    }
                },
            )
            .collect();
        match first_refusal {
            Some(blocked) if allowed.is_empty() => Err(ResolveError::Refused(blocked.into())),
            _ => Ok(allowed),
        }
    }

    /// The resolver for one kind of hook, to install in that kind's HTTP clients.
    pub(crate) fn resolver(&self, system_hook: bool) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver {
            guard: self.clone(),
            system_hook,
        })
    }
}

/// Checks `url` as [`Guard::check_url`] does with the operating system's resolver and no
/// URL variable values: a host that is a placeholder is checked at delivery only.
pub async fn check_url(
    url: &str,
    policy: &OutboundPolicy,
    system_hook: bool,
) -> Result<(), Refusal> {
    Guard::new(policy.clone())
        .check_url(url, &[], system_hook)
        .await
}

tokio::task_local! {
    /// The port the current attempt connects to. A resolver is asked for a name only, but
    /// an own-address check needs the port; the attempt sets it around its request, and the
    /// connector asks the resolver from within that request's task.
    static DESTINATION_PORT: u16;
}

/// Runs `request` with `port` as the destination port the resolver sees.
pub(crate) async fn with_destination_port<F: Future>(port: u16, request: F) -> F::Output {
    DESTINATION_PORT.scope(port, request).await
}

/// A `reqwest` resolver that returns only the addresses the policy allows, for one kind of
/// hook. The addresses come back with port 0, which the connector replaces with the URL's.
pub(crate) struct GuardedResolver {
    guard: Guard,
    system_hook: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        // Read now, while still in the requesting task. Were it ever missing, the own-address
        // check would match on the IP alone: stricter, never looser.
        let port = DESTINATION_PORT.try_with(|port| *port).ok();
        let guard = self.guard.clone();
        let system_hook = self.system_hook;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            match guard.resolve_checked(&host, port, system_hook).await {
                Ok(allowed) => {
                    let addrs: Addrs =
                        Box::new(allowed.into_iter().map(|ip| SocketAddr::new(ip, 0)));
                    Ok(addrs)
                }
                // The inner errors themselves, so that errors.rs can downcast to them.
                Err(ResolveError::Lookup(error)) => Err(error.into()),
                Err(ResolveError::Refused(refusal)) => Err(refusal.into()),
            }
        })
    }
}
