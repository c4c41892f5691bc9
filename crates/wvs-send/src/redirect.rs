//! Which redirects an attempt follows, and what a followed request keeps.
//!
//! Only 307 and 308 are followed: they oblige the client to repeat the same method with
//! the same body, so the receiver's new address gets the webhook as it was sent. 301, 302
//! and 303 let (or make) clients turn a POST into a GET without a body; following them
//! would deliver nothing, so they are recorded as the answer, with a note. Every target is
//! checked by the SSRF guard exactly like the hook URL, and the whole chain runs within the
//! attempt's one deadline.

use http::StatusCode;
use http::header::{AUTHORIZATION, HeaderMap, LOCATION};
use url::Url;
use wvs_events::Flavor;

/// Redirects followed at most; the sixth ends the attempt.
pub(crate) const MAX_REDIRECTS: usize = 5;

/// What to do with a response.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// It is the answer.
    Answer,
    /// Request this URL next.
    Follow(Url),
    /// It is the answer, and the log says why its redirect was not followed.
    NotFollowed(String),
}

/// Decides on a response to a request for `current`, `followed` redirects into the chain.
pub(crate) fn next(
    status: StatusCode,
    headers: &HeaderMap,
    current: &Url,
    followed: usize,
) -> Next {
    let not_followed = |why: &str| Next::NotFollowed(format!("redirect not followed: {why}"));
    match status {
        StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => {}
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND | StatusCode::SEE_OTHER => {
            return not_followed(&format!(
                "a {} would turn the POST into a GET without the payload; only 307 and 308 \
                 are followed",
                status.as_u16()
            ));
        }
        _ => return Next::Answer,
    }
    let Some(location) = headers.get(LOCATION) else {
        return not_followed("the response has no Location header");
    };
    let Some(mut target) = location
        .to_str()
        .ok()
        .and_then(|location| current.join(location).ok())
    else {
        return not_followed("the Location header is not a valid URL");
    };
    if !matches!(target.scheme(), "http" | "https") {
        return not_followed("the target's scheme must be http or https");
    }
    if followed >= MAX_REDIRECTS {
        return not_followed(&format!("more than {MAX_REDIRECTS} redirects"));
    }
    // Credentials in a Location are the receiver's to give, not the hook's: never sent.
    // Removing them cannot fail on an http(s) URL, which always has a host.
    let _ = target.set_username("");
    let _ = target.set_password(None);
    Next::Follow(target)
}

/// Whether a hop from `from` to `to` leaves the origin (scheme, host and port).
pub(crate) fn is_cross_origin(from: &Url, to: &Url) -> bool {
    from.origin() != to.origin()
}

/// Removes what authenticates the request to the hook's receiver, before it goes to
/// another origin: the secret token of either flavor and `Authorization`, as browsers drop
/// credentials. Signature headers stay: they prove the payload, they grant nothing.
pub(crate) fn drop_credentials(headers: &mut HeaderMap) {
    headers.remove(AUTHORIZATION);
    for flavor in Flavor::ALL {
        headers.remove(flavor.token());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn located(location: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(LOCATION, location.parse().unwrap());
        headers
    }

    #[test]
    fn only_307_and_308_are_followed() {
        let here = url("http://a.example/hook");
        let headers = located("/moved?x=1");
        for code in [307, 308] {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(
                next(status, &headers, &here, 0),
                Next::Follow(url("http://a.example/moved?x=1"))
            );
        }
        let Next::NotFollowed(why) = next(StatusCode::FOUND, &headers, &here, 0) else {
            panic!("a 302 was followed");
        };
        assert_eq!(
            why,
            "redirect not followed: a 302 would turn the POST into a GET without the payload; \
             only 307 and 308 are followed"
        );
        assert_eq!(next(StatusCode::OK, &headers, &here, 0), Next::Answer);
        assert_eq!(
            next(StatusCode::NOT_MODIFIED, &headers, &here, 0),
            Next::Answer
        );
    }

    #[test]
    fn bad_targets_and_the_sixth_redirect_are_not_followed() {
        let here = url("http://a.example/hook");
        let status = StatusCode::TEMPORARY_REDIRECT;
        let reason = |headers: &HeaderMap, followed| match next(status, headers, &here, followed) {
            Next::NotFollowed(why) => why,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            reason(&HeaderMap::new(), 0),
            "redirect not followed: the response has no Location header"
        );
        assert_eq!(
            reason(&located("ftp://a.example/"), 0),
            "redirect not followed: the target's scheme must be http or https"
        );
        assert_eq!(
            reason(&located("http://[::1/"), 0),
            "redirect not followed: the Location header is not a valid URL"
        );
        assert_eq!(
            reason(&located("/next"), MAX_REDIRECTS),
            "redirect not followed: more than 5 redirects"
        );
        assert!(matches!(
            next(status, &located("/next"), &here, MAX_REDIRECTS - 1),
            Next::Follow(_)
        ));
    }

    #[test]
    fn credentials_in_a_location_are_not_kept() {
        let here = url("http://a.example/hook");
        assert_eq!(
            next(
                StatusCode::PERMANENT_REDIRECT,
                &located("https://u:p@b.example/x"),
                &here,
                0
            ),
            Next::Follow(url("https://b.example/x"))
        );
    }

    #[test]
    fn origins_differ_by_scheme_host_or_port() {
        let base = url("http://a.example/x");
        assert!(!is_cross_origin(&base, &url("http://a.example:80/y")));
        assert!(is_cross_origin(&base, &url("https://a.example/x")));
        assert!(is_cross_origin(&base, &url("http://b.example/x")));
        assert!(is_cross_origin(&base, &url("http://a.example:8080/x")));
    }

    #[test]
    fn credentials_are_dropped_and_signatures_kept() {
        let mut headers = HeaderMap::new();
        for name in [
            "authorization",
            "x-wvs-token",
            "x-gitlab-token",
            "webhook-signature",
            "x-wvs-event",
        ] {
            headers.insert(name, "v".parse().unwrap());
        }
        drop_credentials(&mut headers);
        let mut left: Vec<&str> = headers.keys().map(|name| name.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["webhook-signature", "x-wvs-event"]);
    }
}
