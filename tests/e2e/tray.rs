//! A desktop with a system tray, for the tray journeys (issue 16): an X display of its
//! own (Xvfb) with an Xfce panel that holds only a system tray at its right end
//! (xfce4-panel's `systray` plugin hosts StatusNotifierItems, which is what Tauri's tray
//! icon is on Linux, and XEmbed icons). The app is started on that display, so its
//! icon is the panel's only one, at a known place; it is clicked and its menu worked
//! with the keyboard through `xdotool`, and shot with ImageMagick's `import`.
//!
//! The panel reads its layout from an `xfconfd` the test starts with its own
//! configuration folder, on the D-Bus session the tests run in (`with-keyring.sh`).
//! Without `xfce4-panel` the tray test is skipped with a note, unless
//! `LATCHKEY_TEST_REQUIRE_E2E=1`, which makes it fail.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The display's size; the app's window and the panel fit in it.
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 800;
/// The panel's height (its icons are square).
const PANEL: u32 = 32;

/// The panel: one, along the top, a separator that takes the room, then the tray.
const PANEL_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=6;x=0;y=0"/>
      <property name="length" type="uint" value="100"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="size" type="uint" value="32"/>
      <property name="plugin-ids" type="array">
        <value type="int" value="1"/>
        <value type="int" value="2"/>
      </property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="separator">
      <property name="expand" type="bool" value="true"/>
      <property name="style" type="uint" value="0"/>
    </property>
    <property name="plugin-2" type="string" value="systray">
      <property name="square-icons" type="bool" value="true"/>
    </property>
  </property>
</channel>
"#;

pub struct Desktop {
    /// `:N`, for the app's `DISPLAY`.
    pub display: String,
    /// Xvfb, xfconfd, the panel: stopped in this order's reverse.
    running: Vec<Child>,
    _config: tempfile::TempDir,
}

impl Drop for Desktop {
    fn drop(&mut self) {
        for child in self.running.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `xfconfd`, which Debian keeps out of the PATH.
fn xfconfd() -> Option<PathBuf> {
    let lib = Path::new("/usr/lib");
    std::fs::read_dir(lib)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("xfce4/xfconf/xfconfd"))
        .chain([lib.join("xfce4/xfconf/xfconfd")])
        .find(|p| p.is_file())
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

/// Why no tray can be had here, if none can.
fn missing() -> Option<String> {
    for tool in ["Xvfb", "xfce4-panel", "xdotool", "import"] {
        if !on_path(tool) {
            return Some(format!("{tool} not found (scripts/setup.sh installs it)"));
        }
    }
    xfconfd()
        .is_none()
        .then(|| "xfconfd not found (apt install xfconf)".into())
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"))
}

impl Desktop {
    /// The display with its panel, ready for the app; `None` when this machine has no
    /// panel (and the run does not require one).
    pub async fn start() -> Option<Self> {
        if let Some(why) = missing() {
            assert!(
                std::env::var_os("LATCHKEY_TEST_REQUIRE_E2E").is_none(),
                "LATCHKEY_TEST_REQUIRE_E2E is set but the tray test cannot run: {why}"
            );
            eprintln!("skipping the tray test: {why}");
            return None;
        }
        let config = tempfile::tempdir().expect("a configuration folder");
        let xml = config
            .path()
            .join("xfce4/xfconf/xfce-perchannel-xml/xfce4-panel.xml");
        std::fs::create_dir_all(xml.parent().expect("a folder")).expect("the folders");
        std::fs::write(&xml, PANEL_XML).expect("the panel's layout");

        // A display number no one uses (xvfb-run -a starts at 99).
        let number = (150..250)
            .find(|n| {
                !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                    && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            })
            .expect("a free display number");
        let display = format!(":{number}");
        let mut running = vec![spawn(Command::new("Xvfb").arg(&display).args([
            "-screen",
            "0",
            &format!("{WIDTH}x{HEIGHT}x24"),
            "-nolisten",
            "tcp",
        ]))];
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "Xvfb did not start on {display}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        running.push(spawn(
            Command::new(xfconfd().expect("xfconfd")).env("XDG_CONFIG_HOME", config.path()),
        ));
        tokio::time::sleep(Duration::from_millis(500)).await;
        running.push(spawn(
            Command::new("xfce4-panel")
                .env("DISPLAY", &display)
                .env("XDG_CONFIG_HOME", config.path()),
        ));
        let desktop = Self {
            display,
            running,
            _config: config,
        };
        // The panel is up when its window shows.
        let deadline = Instant::now() + Duration::from_secs(20);
        while !desktop
            .xdotool(&["search", "--onlyvisible", "--class", "xfce4-panel"])
            .await
        {
            assert!(Instant::now() < deadline, "the panel did not start");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Some(desktop)
    }

    async fn xdotool(&self, args: &[&str]) -> bool {
        tokio::process::Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .is_ok_and(|s| s.success())
    }

    /// Waits until the app's icon shows in the tray: the square at the panel's right
    /// end is no longer the panel's plain light background (the icon is dark blue).
    pub async fn wait_for_icon(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let lightness = tokio::process::Command::new("import")
                .args(["-display", &self.display, "-window", "root", "-crop"])
                .arg(format!(
                    "{}x{}+{}+4",
                    PANEL - 8,
                    PANEL - 8,
                    WIDTH - PANEL + 4
                ))
                .args(["-format", "%[fx:mean]", "info:-"])
                .output()
                .await
                .ok()
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .and_then(|s| s.trim().parse::<f64>().ok());
            if lightness.is_some_and(|l| l < 0.7) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no icon in the tray (lightness {lightness:?})"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Clicks the tray icon (the panel's only one, at its right end): its menu opens.
    pub async fn open_menu(&self) {
        let (x, y) = (WIDTH - PANEL / 2, PANEL / 2);
        assert!(
            self.xdotool(&["mousemove", &x.to_string(), &y.to_string()])
                .await,
            "point at the tray icon"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(self.xdotool(&["click", "1"]).await, "click the tray icon");
        tokio::time::sleep(Duration::from_millis(1200)).await;
    }

    /// In the open menu: the `nth` item (1 = the first; separators are skipped by the
    /// keyboard as by a person), chosen with the arrow keys and Enter.
    pub async fn choose(&self, nth: usize) {
        let mut keys = vec!["key", "--delay", "150"];
        keys.extend(std::iter::repeat_n("Down", nth));
        keys.push("Return");
        assert!(self.xdotool(&keys).await, "choose item {nth} of the menu");
    }

    /// Closes the open menu.
    pub async fn close_menu(&self) {
        assert!(self.xdotool(&["key", "Escape"]).await, "close the menu");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    /// A PNG of the display's top right corner (the panel's end and the open menu) as
    /// `{name}.png` in `dir`.
    pub async fn screenshot(&self, dir: &Path, name: &str) -> PathBuf {
        std::fs::create_dir_all(dir).expect("the screenshot folder");
        let path = dir.join(format!("{name}.png"));
        let (w, h) = (460, 260);
        let status = tokio::process::Command::new("import")
            .args(["-display", &self.display, "-window", "root", "-crop"])
            .arg(format!("{w}x{h}+{}+0", WIDTH - w))
            .arg("+repage")
            .arg(&path)
            .status()
            .await
            .expect("run import (imagemagick)");
        assert!(status.success(), "import failed for {name}");
        path
    }
}
