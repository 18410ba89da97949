//! `zhili user add` on a fresh database: the printed one-time password is the only
//! way in (no default credentials), and a taken name or a missing org is refused.

mod common;

fn zhili(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let mut all: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    all.extend([std::ffi::OsStr::new("--data-dir"), dir.as_os_str()]);
    common::run_zhili(&all)
}

#[tokio::test]
async fn the_first_admin_gets_a_one_time_password() {
    let dir = std::env::temp_dir().join(format!("zhili-user-add-{}", std::process::id()));
    let (ok, text) = zhili(
        &dir,
        &[
            "user",
            "add",
            "chief",
            "--role",
            "admin",
            "--name",
            "系统管理员",
        ],
    );
    assert!(ok, "{text}");
    let password = text
        .lines()
        .find_map(|l| {
            l.split_once("一次性密码")
                .map(|(_, rest)| rest.rsplit(' ').next().unwrap_or("").trim().to_string())
        })
        .expect("a password line");
    assert_eq!(password.chars().count(), 16, "{text}");

    let store =
        zhili_storage::Store::connect(&format!("sqlite:{}", dir.join("zhili.db").display()))
            .await
            .unwrap();
    let user = store
        .user_by_username("chief")
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(user.actor.display_name, "系统管理员");
    assert!(zhili_server::verify_password(
        &password,
        &user.password_hash
    ));
    assert!(!zhili_server::verify_password(
        "zhili-demo",
        &user.password_hash
    ));
    assert!(
        user.credentials.must_change_password,
        "the one-time password must be changed at the first login"
    );

    // The way back in for a forgotten password or a lost phone.
    let (ok, text) = zhili(&dir, &["user", "reset-password", "chief"]);
    assert!(ok, "{text}");
    let again = text
        .lines()
        .find_map(|l| {
            l.split_once("一次性密码")
                .map(|(_, rest)| rest.rsplit(' ').next().unwrap_or("").trim().to_string())
        })
        .expect("a password line");
    let user = store.user_by_username("chief").await.unwrap().unwrap();
    assert!(zhili_server::verify_password(&again, &user.password_hash));
    assert!(!zhili_server::verify_password(
        &password,
        &user.password_hash
    ));
    let (ok, text) = zhili(&dir, &["user", "reset-totp", "chief"]);
    assert!(ok, "{text}");
    let (ok, text) = zhili(&dir, &["user", "reset-totp", "nobody"]);
    assert!(!ok && text.contains("nobody"), "{text}");

    let (ok, text) = zhili(&dir, &["user", "add", "chief", "--role", "admin"]);
    assert!(!ok && text.contains("already exists"), "{text}");
    let (ok, text) = zhili(&dir, &["user", "add", "op", "--role", "township_operator"]);
    assert!(!ok && text.contains("--org"), "{text}");
    let (ok, text) = zhili(
        &dir,
        &[
            "user",
            "add",
            "op",
            "--role",
            "township_operator",
            "--org",
            "330281002",
        ],
    );
    assert!(
        !ok && text.contains("330281002"),
        "an unknown org is refused: {text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
