//! The pages driven like a browser through the real router: cookies, form posts
//! with the CSRF token, redirects left to the test to follow.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

pub struct Resp {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookie: Vec<String>,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    /// The value of a response header, "" when it is missing.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

pub async fn send(app: &Router, req: Request<Body>) -> Resp {
    let res = app.clone().oneshot(req).await.expect("router answers");
    let status = res.status();
    let headers: Vec<(String, String)> = res
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let of = |name: &header::HeaderName| {
        headers
            .iter()
            .filter(|(k, _)| k == name.as_str())
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    let location = of(&header::LOCATION).into_iter().next();
    let set_cookie = of(&header::SET_COOKIE);
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("body");
    Resp {
        status,
        location,
        set_cookie,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub async fn get(app: &Router, path: &str, cookie: Option<&str>) -> Resp {
    let mut req = Request::get(path);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    send(app, req.body(Body::empty()).unwrap()).await
}

/// Percent-encodes a form value (everything but the unreserved characters).
pub fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn form_body(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub async fn post(app: &Router, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Resp {
    let mut req =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    send(app, req.body(Body::from(form_body(form))).unwrap()).await
}

/// A signed-in browser: its session cookie and the CSRF token its pages carry.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// The CSRF token of the first form on the page.
pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("page has a csrf field") + marker.len();
    let len = html[start..].find('"').expect("closing quote");
    html[start..start + len].to_string()
}

/// The `name=value` part of the session cookie a login set.
pub fn session_cookie(r: &Resp) -> String {
    r.set_cookie
        .iter()
        .find(|c| c.starts_with("zhili_session="))
        .expect("session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// Signs in through the login form and reads the CSRF token off the event list.
pub async fn login_as(app: &Router, username: &str, password: &str) -> Session {
    let r = post(
        app,
        "/login",
        None,
        &[("username", username), ("password", password)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "login of {username}");
    // Each role starts at its work: the events, or the accounts, or the audit log.
    let home = r.location.clone().expect("a redirect after login");
    assert!(
        ["/events", "/admin/users", "/audit"].contains(&home.as_str()),
        "{home}"
    );
    let cookie = session_cookie(&r);
    let page = get(app, &home, Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    Session {
        csrf: csrf_in(&page.body),
        cookie,
    }
}

/// [`login_as`] a small-city account (password [`super::PW`]).
pub async fn login(app: &Router, username: &str) -> Session {
    login_as(app, username, super::PW).await
}
