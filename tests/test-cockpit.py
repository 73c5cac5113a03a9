#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Cockpit page "Transfers" (cockpit/) in a real browser against a real Cockpit.

Runs as root, in a private mount namespace of its own, so that nothing of the machine
changes and nothing reaches a real system bus:

- xferd on the system-type test bus of bus-fixture.h (xferd-test-sysbus); inside the
  namespace /run/dbus is a tmpfs whose system_bus_socket leads to that bus, so the
  cockpit-bridge that cockpit-session starts through PAM finds it at the default address;
- /usr/share/cockpit seen with the page of this tree added as xferd/;
- /etc/shadow seen with random passwords for xferd-test-a, xferd-test-b and root, and an
  empty /etc/cockpit/disallowed-users, so those can log in;
- Debian's cockpit-ws on 127.0.0.1 without TLS, headless Debian chromium driven by
  python3-selenium through chromedriver, and the test HTTP server (xferd-test-httpd) with
  throttled files so that a download runs long enough to be watched.

The scenario: user A logs in, sees a running download's progress move (and no other row
change with it), suspends and resumes
it, cancels another (after confirming; its temporary file is gone afterwards), starts a
download with the "New download" dialog (the file arrives), sees a bad URL's and a bad
path's error at their fields; user B sees only B's job; root sees everyone's jobs with
their owners and changes a Manager setting. Screenshots go to XFERD_ARTIFACT_DIR (the
build's meson-logs). Speaks TAP. Without root, the users, or a peer (cockpit-ws,
cockpit-bridge, cockpit-system, chromium, chromium-driver, python3-selenium) it skips;
with CI=true it fails instead.
"""

import ctypes
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

BUS_NAME = "org.xferd.Transfer1"
MANAGER = "/org/xferd/Transfer1"
MANAGER_IFACE = "org.xferd.Transfer1.Manager"
JOB_IFACE = "org.xferd.Transfer1.Job"
USER_A = "xferd-test-a"
USER_B = "xferd-test-b"
COCKPIT_WS = "/usr/lib/cockpit/cockpit-ws"
COCKPIT_SHARE = "/usr/share/cockpit"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SLOW_RATE = 256 * 1024            # bytes/s of the throttled files
SLOW_SIZE = 24 * 1024 * 1024      # ~96 s at that rate (the jobs that may finish keep their
                                  # files until Complete: auto-complete off, so they stay listed)
WAIT = 30                         # seconds any one condition may take
BUS_STOP = 40                     # seconds xferd-test-sysbus may take to stop: its teardown gives
                                  # xferd 10 s after SIGTERM, the bus's xferds 10 s to end once it
                                  # is gone and one it kills 10 s more (bus-fixture.c)

ci = os.environ.get("CI") == "true"


def bail_out(reason):
    """A missing peer: skip, or fail in CI."""
    if ci:
        print("1..1")
        print(f"not ok 1 - test-cockpit cannot run: {reason} (CI=true: a missing peer fails)")
        sys.exit(1)
    print(f"1..0 # SKIP {reason}")
    sys.exit(0)


def check_prerequisites():
    if os.geteuid() != 0:
        bail_out("needs root (private mount namespace, xferd --system, cockpit-session)")
    for user in (USER_A, USER_B):
        try:
            pwd.getpwnam(user)
        except KeyError:
            bail_out(f"user {user} is missing (useradd -m {user})")
    for path, package in ((COCKPIT_WS, "cockpit-ws"), ("/usr/bin/cockpit-bridge", "cockpit-bridge"),
                          (COCKPIT_SHARE + "/shell/manifest.json", "cockpit-system"),
                          (CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver"),
                          ("/usr/bin/openssl", "openssl")):
        if not os.path.exists(path):
            bail_out(f"{path} is missing (install the Debian package {package}: scripts/setup-deps.sh)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        bail_out(f"python3-selenium is missing for {sys.executable} (scripts/setup-deps.sh)")
    for name in ("XFERD_BINARY", "XFERD_SOURCE_ROOT", "XFERD_TEST_SYSBUS", "XFERD_TEST_HTTPD", "XFERD_COCKPIT_FILES"):
        if not os.environ.get(name):
            print(f"Bail out! {name} is not set (run me with meson test)")
            sys.exit(1)


# ------------------------------------------------------------------ TAP

class Tap:
    def __init__(self):
        self.n = 0
        self.failed = False
        self.on_failure = None

    def step(self, name, func, *args):
        self.n += 1
        if self.failed:
            print(f"ok {self.n} - {name} # SKIP an earlier step failed", flush=True)
            return None
        try:
            result = func(*args)
        except Exception:
            self.failed = True
            print(f"not ok {self.n} - {name}", flush=True)
            for line in traceback.format_exc().splitlines():
                print("# " + line)
            if self.on_failure:
                try:
                    self.on_failure()
                except Exception as ex:
                    print(f"# (no screenshot of the failure: {ex!r})")
            return None
        print(f"ok {self.n} - {name}", flush=True)
        return result


def log(message):
    print("# " + message, flush=True)


def wait_for(what, predicate, timeout=WAIT):
    """Polls predicate (every 0.1 s) until it is true or returns a value; else fails."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as ex:     # a stale element, a page in flux: try again
            last_error = ex
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}" +
                         (f" (last error: {last_error!r})" if last_error else ""))


# ------------------------------------------------------------ the machine

def private_mount_namespace():
    """unshare(CLONE_NEWNS) with private propagation: every mount below is this test's."""
    libc = ctypes.CDLL(None, use_errno=True)
    CLONE_NEWNS = 0x00020000
    if libc.unshare(CLONE_NEWNS) != 0:
        bail_out(f"unshare(CLONE_NEWNS) failed: {os.strerror(ctypes.get_errno())}")
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)


MOUNTS = []     # what this test mounted, in order


def mount(*argv):
    subprocess.run(["mount"] + list(argv), check=True)
    MOUNTS.append(argv[-1])


def bind(source, target):
    mount("--bind", source, target)


def unmount_all():
    while MOUNTS:
        subprocess.run(["umount", "--lazy", MOUNTS.pop()], check=False)


def autolaunched_buses():
    """The pids of the session buses that dbus-launch started for GLib's autolaunch."""
    out = subprocess.run(["pgrep", "-x", "-f", "dbus-daemon --print-address --session"],
                         capture_output=True, text=True, check=False).stdout
    return {int(pid) for pid in out.split()}


def mounts_below(directory):
    """Mount points at or below directory (from /proc/self/mountinfo)."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == directory or point.startswith(directory + "/"):
                found.append(point)
    return found


class Env:
    def __init__(self):
        self.buses_before = autolaunched_buses()
        self.procs = []
        # xferd-test-sysbus's exit status once stopped: 1 when an xferd it activated ended
        # other than with status 0 (it says which on stderr).
        self.bus_status = None
        self.tmp = tempfile.mkdtemp(prefix="xferd-cockpit-")
        os.chmod(self.tmp, 0o755)
        self.passwords = {}
        self.artifacts = os.environ.get("XFERD_ARTIFACT_DIR") or self.tmp

    def spawn(self, argv, **kwargs):
        proc = subprocess.Popen(argv, **kwargs)
        self.procs.append(proc)
        return proc

    def start_bus(self):
        env = dict(os.environ)
        proc = self.spawn([os.environ["XFERD_TEST_SYSBUS"]], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True, env=env)
        values = {}
        while "STATE_DIR" not in values:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("xferd-test-sysbus ended before printing its address")
            if "=" in line and not line.startswith("#"):
                key, value = line.rstrip("\n").split("=", 1)
                values[key] = value
        self.bus = proc
        self.address = values["ADDRESS"]
        socket_path = self.address.split("unix:path=", 1)[1].split(",")[0]
        # The bridge's default system bus address, in this namespace only.
        os.makedirs("/run/dbus", exist_ok=True)
        mount("-t", "tmpfs", "-o", "mode=0755,size=64k", "xferd-test-run-dbus", "/run/dbus")
        os.symlink(socket_path, "/run/dbus/system_bus_socket")
        log(f"test system bus: {self.address}, also at /run/dbus/system_bus_socket in this namespace")

    def set_passwords(self):
        shadow = os.path.join(self.tmp, "shadow")
        lines = []
        with open("/etc/shadow") as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if fields[0] in (USER_A, USER_B, "root"):
                    password = secrets.token_urlsafe(12)
                    self.passwords[fields[0]] = password
                    fields[1] = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password,
                                               capture_output=True, text=True, check=True).stdout.strip()
                    if len(fields) > 4:
                        fields[4] = ""    # no maximum age: never "password expired"
                lines.append(":".join(fields) + "\n")
        with open(shadow, "w") as f:
            f.writelines(lines)
        os.chmod(shadow, 0o640)
        shutil.chown(shadow, "root", "shadow")
        bind(shadow, "/etc/shadow")
        if os.path.exists("/etc/cockpit/disallowed-users"):
            empty = os.path.join(self.tmp, "disallowed-users")
            open(empty, "w").close()
            bind(empty, "/etc/cockpit/disallowed-users")

    def install_page(self):
        """/usr/share/cockpit as installed, plus xferd/ from this tree."""
        orig = os.path.join(self.tmp, "cockpit-orig")
        share = os.path.join(self.tmp, "cockpit-share")
        os.mkdir(orig)
        os.mkdir(share)
        bind(COCKPIT_SHARE, orig)
        for name in os.listdir(orig):
            if name != "xferd":
                os.symlink(os.path.join(orig, name), os.path.join(share, name))
        # Exactly what meson installs (cockpit/meson.build).
        page = os.path.join(share, "xferd")
        os.mkdir(page)
        for path in os.environ["XFERD_COCKPIT_FILES"].split(":"):
            shutil.copy(path, page)
        subprocess.run(["chmod", "-R", "a+rX", share], check=True)
        bind(share, COCKPIT_SHARE)

    def start_http(self):
        www = os.path.join(self.tmp, "www")
        os.mkdir(www)
        os.chmod(www, 0o755)
        for name, size in (("slow.bin", SLOW_SIZE), ("slow2.bin", SLOW_SIZE), ("small.bin", 1024 * 1024 + 17)):
            with open(os.path.join(www, name), "wb") as f:
                f.write(os.urandom(size))
        proc = self.spawn([os.environ["XFERD_TEST_HTTPD"], "--root", www,
                           f"--throttle=/slow.bin={SLOW_RATE}", f"--throttle=/slow2.bin={SLOW_RATE}"],
                          stdout=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        assert line.startswith("PORT="), f"xferd-test-httpd said {line!r}"
        self.www = www
        self.http = f"http://127.0.0.1:{int(line[5:])}"

    def start_cockpit(self):
        for attempt in range(5):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            proc = self.spawn([COCKPIT_WS, "--no-tls", "--address", "127.0.0.1", "--port", str(port)])

            def answers():
                if proc.poll() is not None:
                    raise EOFError("cockpit-ws exited")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                        return r.status == 200
                except OSError:
                    return False
            try:
                wait_for("cockpit-ws to answer", answers, 15)
            except AssertionError:
                if proc.poll() is None:
                    raise
                continue        # the port was taken after all: another one
            self.cockpit = f"http://127.0.0.1:{port}"
            log(f"cockpit-ws on {self.cockpit}")
            return
        raise RuntimeError("cockpit-ws did not start")

    def userdir(self, user, name):
        path = os.path.join(self.tmp, name)
        os.mkdir(path, 0o755)
        shutil.chown(path, user, user)
        return path

    def busctl(self, user, *args, check=True):
        argv = ["busctl", f"--address={self.address}", "--json=short"] + list(args)
        if user != "root":
            argv = ["runuser", "-u", user, "--"] + argv
        return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=WAIT)

    def download(self, user, url, path, *options):
        opts = [str(len(options) // 3)] + list(options)
        out = self.busctl(user, "call", BUS_NAME, MANAGER, MANAGER_IFACE, "Download", "ssa{sv}", url, path, *opts)
        return json.loads(out.stdout)["data"][1]

    def job_property(self, user, job, name):
        out = self.busctl(user, "get-property", BUS_NAME, job, JOB_IFACE, name)
        return json.loads(out.stdout)["data"]

    def stop(self):
        for proc in reversed(self.procs):
            if proc.poll() is not None:
                continue
            is_bus = proc is getattr(self, "bus", None)
            if is_bus:
                proc.stdin.close()      # it stops the bus and xferd itself
            else:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=BUS_STOP if is_bus else 15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                if is_bus:
                    log(f"xferd-test-sysbus did not stop within {BUS_STOP} s: killed")
        if getattr(self, "bus", None) is not None:
            self.bus_status = self.bus.returncode
        # cockpit-bridge, with no session bus for the logged-in user, has GLib autolaunch one
        # (dbus-launch), which outlives the session: stop those the test made, and only those.
        for pid in autolaunched_buses() - self.buses_before:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        unmount_all()
        # cockpit-orig was a bind mount of the real /usr/share/cockpit: never delete through one.
        left = mounts_below(self.tmp)
        if left:
            log(f"not removing {self.tmp}: still mounted there: {left}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# ------------------------------------------------------------- the browser

class Browser:
    def __init__(self, env):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        self.env = env
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        self.profile = tempfile.mkdtemp(prefix="chromium-", dir=env.tmp)
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1400,900", "--user-data-dir=" + self.profile):
            options.add_argument(arg)
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)

    def quit(self):
        self.driver.quit()

    def css(self, selector):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def one(self, selector, timeout=WAIT):
        return wait_for(f"'{selector}'", lambda: (self.css(selector) or [None])[0], timeout)

    def login(self, user):
        from selenium.webdriver.common.by import By
        d = self.driver
        d.delete_all_cookies()
        d.switch_to.default_content()
        d.get(self.env.cockpit + "/")
        # The login page shows its form once its script ran.
        field = wait_for("the login form", lambda: [e for e in self.css("#login-user-input") if e.is_displayed()])[0]
        field.send_keys(user)
        d.find_element(By.ID, "login-password-input").send_keys(self.env.passwords[user])
        d.find_element(By.ID, "login-button").click()
        wait_for("the shell after logging in as " + user, lambda: self.css("iframe[name^='cockpit1:']"))
        d.get(self.env.cockpit + "/xferd")
        frame = self.one("iframe[name='cockpit1:localhost/xferd']")
        d.switch_to.frame(frame)
        wait_for("the page to load its jobs",
                 lambda: not self.css("#new-download")[0].get_attribute("disabled") or
                 self.css(".xferd-problem"))

    def row(self, name):
        for tbody in self.css("table#jobs tbody"):
            names = tbody.find_elements("css selector", ".xferd-name")
            if names and names[0].text == name:
                return tbody
        return None

    def names(self):
        return [e.text for e in self.css("table#jobs tbody .xferd-name")]

    def screenshot(self, name):
        path = os.path.join(self.env.artifacts, name)
        self.driver.switch_to.default_content()
        self.driver.save_screenshot(path)
        self.driver.switch_to.frame(self.one("iframe[name='cockpit1:localhost/xferd']"))
        log(f"screenshot: {path}")
        return path


# -------------------------------------------------------------- the scenario

def main():
    check_prerequisites()
    # meson's timeout sends SIGTERM: clean up (finally) on it too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))
    private_mount_namespace()
    env = Env()
    tap = Tap()
    browser = None
    try:
        print("1..15", flush=True)

        def setup():
            env.start_bus()
            env.set_passwords()
            env.install_page()
            env.start_http()
            env.start_cockpit()
        tap.step("xferd on a system-type test bus, the page installed, cockpit-ws on 127.0.0.1", setup)

        jobs = {}

        def make_jobs():
            dl_a = env.userdir(USER_A, "dl-a")
            dl_b = env.userdir(USER_B, "dl-b")
            env.dl_a = dl_a
            jobs["running"] = env.download(USER_A, env.http + "/slow.bin", dl_a + "/slow.bin",
                                           "display-name", "s", "Running download", "auto-complete", "b", "false")
            jobs["to-cancel"] = env.download(USER_A, env.http + "/slow2.bin", dl_a + "/slow2.bin",
                                             "display-name", "s", "To be cancelled", "auto-complete", "b", "false")
            jobs["failed"] = env.download(USER_A, env.http + "/missing.bin", dl_a + "/missing.bin",
                                          "display-name", "s", "Missing file",
                                          "max-concurrent-files", "u", "4", "cost-policy", "s", "always")
            jobs["transferred"] = env.download(USER_A, env.http + "/small.bin", dl_a + "/notes.bin",
                                               "display-name", "s", "Release notes", "auto-complete", "b", "false")
            jobs["b"] = env.download(USER_B, env.http + "/slow.bin", dl_b + "/b.bin",
                                     "display-name", "s", "Job of B", "auto-complete", "b", "false")
            wait_for("A's small job to be transferred",
                     lambda: env.job_property(USER_A, jobs["transferred"], "State") == "transferred")
            wait_for("A's missing file to fail",
                     lambda: env.job_property(USER_A, jobs["failed"], "State") == "error")
        tap.step("A starts four downloads and B one, with busctl", make_jobs)

        def show_failure():
            if browser:
                browser.screenshot("cockpit-failure.png")
                log("names: " + repr(browser.names()))
                for line in browser.one("body", 1).text.splitlines():
                    log("page: " + line)
        tap.on_failure = show_failure

        def open_as_a():
            nonlocal browser
            browser = Browser(env)
            browser.login(USER_A)
            wait_for("A's four jobs in the table",
                     lambda: sorted(browser.names()) == sorted(["Running download", "To be cancelled",
                                                                "Missing file", "Release notes"]))
            failed = browser.row("Missing file")
            assert "404" in failed.find_element("css selector", ".xferd-details").text, "no error message shown"
            assert failed.get_attribute("data-state") == "error"
            assert browser.row("Release notes").get_attribute("data-state") == "transferred"
        tap.step("A logs in and sees exactly A's jobs, with the failed job's error message", open_as_a)

        def progress_moves():
            row = browser.row("Running download")
            wait_for("the running job to transfer", lambda: row.get_attribute("data-state") == "transferring")
            first = int(row.get_attribute("data-bytes"))
            wait_for("its progress to move", lambda: int(row.get_attribute("data-bytes")) > first + SLOW_RATE // 2)
            bar = row.find_element("css selector", "[role=progressbar]")
            assert int(bar.get_attribute("aria-valuenow")) >= 0
            assert "KiB/s" in row.find_element("css selector", ".xferd-rate").text or \
                   "MiB/s" in row.find_element("css selector", ".xferd-rate").text, "no rate shown"
            browser.screenshot("cockpit-transfers.png")
        tap.step("the running job's progress moves, with a rate", progress_moves)

        def other_rows_untouched():
            row = browser.row("Running download")
            still = browser.row("Missing file")
            # Every change in the failed job's row from here on is counted.
            browser.driver.execute_script(
                "const t = arguments[0]; t.xferdMutations = 0;"
                "new MutationObserver(m => { t.xferdMutations += m.length; })"
                ".observe(t, { subtree: true, childList: true, attributes: true, characterData: true });", still)
            for _ in range(3):
                before = int(row.get_attribute("data-bytes"))
                wait_for("the running job's progress to move", lambda: int(row.get_attribute("data-bytes")) > before)
            assert browser.driver.execute_script("return arguments[0] === arguments[1];", still,
                                                 browser.row("Missing file")), "the unchanged row was made anew"
            n = browser.driver.execute_script("return arguments[0].xferdMutations;", still)
            assert n == 0, f"the failed job's row changed {n} times while only the running job did"
        tap.step("a change of one job touches only its row: another row's nodes stay as they are",
                 other_rows_untouched)

        def suspend_resume():
            row = browser.row("Running download")
            row.find_element("css selector", "button[data-action=Suspend]").click()
            wait_for("the row to say suspended", lambda: row.get_attribute("data-state") == "suspended")
            assert env.job_property(USER_A, jobs["running"], "State") == "suspended"
            button = row.find_element("css selector", "button[data-action=Resume]")
            assert button.get_attribute("aria-label") == "Resume “Running download”"
            stopped = int(row.get_attribute("data-bytes"))
            button.click()
            wait_for("the row to transfer again", lambda: row.get_attribute("data-state") == "transferring")
            wait_for("the progress to move on", lambda: int(row.get_attribute("data-bytes")) > stopped)
        tap.step("Suspend and Resume from the page", suspend_resume)

        def cancel():
            row = browser.row("To be cancelled")
            row.find_element("css selector", "button[data-action=details]").click()
            temp = wait_for("the temporary file in the details",
                            lambda: row.find_element("css selector", ".xferd-temp").text)
            assert temp.startswith(env.dl_a + "/."), f"temporary file {temp!r}"
            wait_for("the temporary file to exist", lambda: os.path.exists(temp))
            row.find_element("css selector", "button[data-action=Cancel]").click()
            dialog = browser.one("dialog[open]")
            assert "deleted" in dialog.text, f"the confirmation does not say the data is deleted: {dialog.text!r}"
            # "Keep it" keeps it.
            dialog.find_element("css selector", "#keep-job").click()
            wait_for("the dialog to close", lambda: not browser.css("dialog[open]"))
            assert env.job_property(USER_A, jobs["to-cancel"], "State") != "cancelled"
            row.find_element("css selector", "button[data-action=Cancel]").click()
            browser.one("dialog[open] #confirm-cancel").click()
            wait_for("the row to go", lambda: browser.row("To be cancelled") is None)
            assert env.job_property(USER_A, jobs["to-cancel"], "State") == "cancelled"
            assert not os.path.exists(temp), f"{temp} is still there after Cancel"
        tap.step("Cancel asks first, then the job and its temporary file are gone", cancel)

        def new_download():
            from selenium.webdriver.common.keys import Keys
            browser.one("#new-download").click()
            url = browser.one("dialog[open] #download-url")
            assert browser.driver.switch_to.active_element == url, "the URL field does not have the focus"
            url.send_keys(env.http + "/small.bin")
            path = browser.one("#download-path")
            assert path.get_attribute("value").endswith("/small.bin"), "no destination suggested from the URL"
            path.send_keys(Keys.CONTROL, "a")
            path.send_keys(env.dl_a + "/from-dialog.bin")
            browser.one("dialog[open] button[type=submit]").click()
            wait_for("the dialog to close", lambda: not browser.css("dialog[open]"))
            final = os.path.join(env.dl_a, "from-dialog.bin")
            wait_for("the downloaded file", lambda: os.path.exists(final))
            with open(final, "rb") as a, open(os.path.join(env.www, "small.bin"), "rb") as b:
                assert a.read() == b.read(), "the downloaded file differs from the served one"
            st = os.stat(final)
            assert st.st_uid == pwd.getpwnam(USER_A).pw_uid, "the file is not A's"
            wait_for("the completed job to leave the table", lambda: browser.row("from-dialog.bin") is None)
        tap.step("New download: the dialog's download arrives, owned by A", new_download)

        def bad_input():
            from selenium.webdriver.common.keys import Keys
            browser.one("#new-download").click()
            url = browser.one("dialog[open] #download-url")
            url.send_keys("ftp://127.0.0.1/file.iso")
            path = browser.one("#download-path")
            path.send_keys(Keys.CONTROL, "a")
            path.send_keys(env.dl_a + "/bad.iso")
            browser.one("dialog[open] button[type=submit]").click()
            wait_for("the URL field to be marked invalid", lambda: url.get_attribute("aria-invalid") == "true")
            help_text = browser.one("#download-url-help").text
            assert "not supported" in help_text and "http" in help_text, f"URL error: {help_text!r}"
            assert "pf-m-error" in browser.one("#download-url-help").get_attribute("class")
            assert browser.one("dialog[open]"), "the dialog closed on an error"
            # A destination in a directory that does not exist: at the destination field.
            url.send_keys(Keys.CONTROL, "a")
            url.send_keys(env.http + "/small.bin")
            path.send_keys(Keys.CONTROL, "a")
            path.send_keys(env.dl_a + "/no-such-dir/x.bin")
            browser.one("dialog[open] button[type=submit]").click()
            wait_for("the destination to be marked invalid", lambda: path.get_attribute("aria-invalid") == "true")
            assert url.get_attribute("aria-invalid") is None, "the URL is still marked invalid"
            log("destination error: " + browser.one("#download-path-help").text)
            # Escape closes the dialog; nothing was created.
            browser.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
            wait_for("the dialog to close", lambda: not browser.css("dialog[open]"))
            assert sorted(browser.names()) == sorted(["Running download", "Missing file", "Release notes"])
        tap.step("bad URL and bad destination: the daemon's errors at their fields", bad_input)

        def complete():
            row = browser.row("Release notes")
            row.find_element("css selector", "button[data-action=Complete]").click()
            wait_for("the completed job to leave the table", lambda: browser.row("Release notes") is None)
            assert os.path.exists(os.path.join(env.dl_a, "notes.bin")), "Complete did not put the file in place"
        tap.step("Complete moves a transferred job's file into place", complete)

        def as_b():
            browser.login(USER_B)
            wait_for("B's job", lambda: browser.names() == ["Job of B"])
            assert "Running download" not in browser.driver.page_source
            assert not browser.one("#settings", 5).is_displayed(), "B sees the Manager settings"
        tap.step("B sees B's job and none of A's", as_b)

        def as_root():
            browser.login("root")
            wait_for("every user's jobs",
                     lambda: sorted(browser.names()) == sorted(["Running download", "Missing file", "Job of B"]))
            owners = {browser.row(n).find_element("css selector", ".xferd-owner-column").text
                      for n in ("Running download", "Job of B")}
            assert owners == {USER_A, USER_B}, f"owners shown: {owners}"
            field = browser.one("#max-transfers")
            wait_for("the settings", lambda: browser.one("#settings").is_displayed() and field.get_attribute("value"))
            from selenium.webdriver.common.keys import Keys
            field.send_keys(Keys.CONTROL, "a")
            field.send_keys("3")
            browser.one("#settings-apply").click()
            wait_for("MaxBackgroundTransfers to be 3", lambda: json.loads(env.busctl(
                "root", "get-property", BUS_NAME, MANAGER, MANAGER_IFACE, "MaxBackgroundTransfers").stdout)["data"] == 3)
            field.send_keys(Keys.CONTROL, "a")
            field.send_keys("0")
            browser.one("#settings-apply").click()
            wait_for("the daemon's refusal at the field", lambda: field.get_attribute("aria-invalid") == "true")
            assert "at least 1" in browser.one("#max-transfers-help").text
        tap.step("root sees every user's jobs with owners and changes MaxBackgroundTransfers", as_root)

        def unavailable():
            # xferd gone from the bus and not activatable: a clear empty state, not a blank page.
            services = os.path.join(os.path.dirname(env.address.split("unix:path=", 1)[1]), "services")
            os.rename(os.path.join(services, BUS_NAME + ".service"), os.path.join(env.tmp, "parked.service"))
            env.busctl("root", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                       "org.freedesktop.DBus", "ReloadConfig")
            pid = json.loads(env.busctl("root", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "GetConnectionUnixProcessID", "s",
                                        BUS_NAME).stdout)["data"][0]
            os.kill(int(pid), signal.SIGTERM)
            wait_for("xferd to leave the bus", lambda: env.busctl(
                "root", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "NameHasOwner", "s", BUS_NAME).stdout.find("true") < 0)
            browser.login(USER_A)
            problem = browser.one(".xferd-problem").text
            assert browser.one("#empty-title").text == "xferd is not available"
            assert BUS_NAME in problem, f"the empty state does not say why: {problem!r}"
            assert browser.one("#new-download").get_attribute("disabled") is not None
            browser.screenshot("cockpit-unavailable.png")
            os.rename(os.path.join(env.tmp, "parked.service"), os.path.join(services, BUS_NAME + ".service"))
            env.busctl("root", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                       "org.freedesktop.DBus", "ReloadConfig")
            browser.one("#empty-action").click()
            wait_for("the jobs again after Try again",
                     lambda: sorted(browser.names()) == sorted(["Running download", "Missing file"]))
        tap.step("an unreachable xferd shows a clear empty state; Try again recovers", unavailable)

        def keyboard():
            from selenium.webdriver.common.keys import Keys
            toggle = browser.row("Missing file").find_element("css selector", "button[data-action=details]")
            assert toggle.get_attribute("aria-label") == "Details of “Missing file”"
            toggle.send_keys(Keys.ENTER)
            wait_for("the details to open by keyboard", lambda: toggle.get_attribute("aria-expanded") == "true")
            wait_for("the file list", lambda: browser.row("Missing file").find_element(
                "css selector", ".xferd-url").text.endswith("/missing.bin"))
            for bar in browser.css("[role=progressbar]"):
                assert bar.get_attribute("aria-label"), "a progress bar without a label"
            for button in browser.css("table#jobs button"):
                assert button.get_attribute("aria-label") or button.text, "a button without a name"
        tap.step("keyboard: details open with Enter; every control has a name", keyboard)

        def details():
            def shown(name):
                # Read at once, again if the panel was drawn anew meanwhile (an open row lists
                # its files again while its job changes): a stale element is a retry, not a
                # failure.
                def read():
                    row = browser.row(name)
                    terms = row.find_elements("css selector", ".xferd-description dt")
                    values = row.find_elements("css selector", ".xferd-description dd")
                    return {t.text: v.text for t, v in zip(terms, values)}
                return wait_for(f"the details of {name}", read)
            missing = shown("Missing file")
            assert missing.get("Files at once") == "4", "MaxConcurrentFiles not shown: " + repr(missing)
            assert missing.get("Networks") == "any, metered too", "CostPolicy not shown: " + repr(missing)
            browser.row("Running download").find_element("css selector", "button[data-action=details]").click()
            running = shown("Running download")
            assert "Files at once" not in running, "the default MaxConcurrentFiles shown: " + repr(running)
            assert running.get("Networks") == "unmetered only", "the default CostPolicy not shown: " + repr(running)
        tap.step("the details show MaxConcurrentFiles (unless 1) and CostPolicy", details)
    finally:
        if browser:
            try:
                logs = browser.driver.get_log("browser")
                for entry in logs:
                    if "xferd" in entry.get("message", ""):
                        log("browser console: " + entry["message"])
            except Exception as ex:
                log(f"no browser log: {ex!r}")
            browser.quit()
        env.stop()
    if env.bus_status is not None and env.bus_status < 0:
        print(f"# xferd-test-sysbus was killed by signal {-env.bus_status}: how the xferds of the test bus "
              "ended was not judged", flush=True)
        tap.failed = True
    elif env.bus_status:
        print(f"# xferd-test-sysbus exited with status {env.bus_status}: an xferd of the test bus did not "
              "end cleanly (its stderr above says which and how)", flush=True)
        tap.failed = True
    sys.exit(1 if tap.failed else 0)


if __name__ == "__main__":
    main()
