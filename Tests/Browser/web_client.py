#!/usr/bin/python3
"""The web client in a real browser (issue 23): headless Chromium from Debian's packages, driven
by Selenium (python3-selenium, chromium-driver), against a polygated that a Swift test started.
A polychat user (bob) exists and has posted; this script, as alice in the browser:

  creates an identity, posts, checks that bob sees the post with polychat, follows bob and sees
  his post in the timeline, replies to it (bob sees the reply), edits the profile, searches,
  reloads the page and unlocks with the passphrase, and leaves a screenshot of every main view
  (phone-sized window) in SCREENSHOTS.

Then the identity moves both ways: alice's export from the browser opens in polychat
(`init --import`), and bob's `polychat identity export --web` file opens in a second browser.

Usage: web_client.py BASE_URL BOB_ID POLYCHAT POLYCHAT_HOME SCREENSHOTS BOB_EXPORT SCRATCH
Prints one line per step; exits 1 with the reason on the first failure.
"""
import json
import os
import subprocess
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

BASE, BOB_ID, POLYCHAT, BOB_HOME, SHOTS, BOB_EXPORT, SCRATCH = sys.argv[1:8]
BOB_EXPORT_PASSPHRASE = "bob's export passphrase"
PASSPHRASE = "correct horse battery"
MINE = "hello from the browser"
REPLY = "a reply from the browser"


def step(text):
    print(text, flush=True)


def polychat(*arguments, home=BOB_HOME, **extra):
    environment = dict(os.environ, POLYCHAT_HOME=home, TZ="UTC", **extra)
    run = subprocess.run([POLYCHAT, *arguments], env=environment, capture_output=True, text=True, timeout=60)
    if run.returncode != 0:
        raise AssertionError(f"polychat {' '.join(arguments)}: exit {run.returncode}: {run.stderr.strip()}")
    return run.stdout


def browser(profile):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=500,900", "--no-first-run", "--disable-extensions",
                 f"--user-data-dir={SCRATCH}/{profile}"):
        options.add_argument(flag)
    # A phone-sized viewport for every view (and its screenshot).
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 1.0}})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option("prefs", {"download.default_directory": f"{SCRATCH}/{profile}-downloads",
                                              "download.prompt_for_download": False})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def main():
    for phase, profile in ((run, "alice"), (import_bob, "bob")):
        attempt(phase, browser(profile))


def attempt(phase, driver):
    # A view re-renders while it is read: an element gone stale is read again on the next poll.
    wait = WebDriverWait(driver, 30, ignored_exceptions=[StaleElementReferenceException])
    try:
        phase(driver, wait)
    except (AssertionError, TimeoutException) as error:
        shot(driver, "failure")
        status = driver.find_elements(By.ID, "status")
        print(f"FAILED: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}", flush=True)
        if status:
            print(f"status line: {status[0].text}", flush=True)
        for entry in driver.get_log("browser"):
            print(f"console: {entry['level']} {entry['message']}", flush=True)
        sys.exit(1)
    finally:
        driver.quit()


def shot(driver, name):
    driver.save_screenshot(f"{SHOTS}/{name}.png")


def text_appears(wait, css, text):
    wait.until(lambda d: any(text in e.text for e in d.find_elements(By.CSS_SELECTOR, css)),
               f"'{text}' never appeared in {css}")


def fill_when_ready(wait, driver, element_id, value):
    wait.until(ec.presence_of_element_located((By.ID, element_id)))
    fill(driver, element_id, value)


def fill(driver, element_id, value):
    element = driver.find_element(By.ID, element_id)
    element.clear()
    element.send_keys(value)


def run(driver, wait):
    driver.get(f"{BASE}/")
    wait.until(ec.presence_of_element_located((By.ID, "create-form")))
    assert driver.current_url == f"{BASE}/app/", driver.current_url
    # Every field has a label the keyboard and screen readers reach.
    for field in driver.find_elements(By.CSS_SELECTOR, "input, textarea, select"):
        field_id = field.get_attribute("id")
        assert driver.find_elements(By.CSS_SELECTOR, f"label[for='{field_id}']"), f"#{field_id} has no label"
    shot(driver, "welcome")
    step("welcome: create and import forms, every field labelled")

    fill(driver, "create-name", "Alice Web")
    fill(driver, "create-passphrase", PASSPHRASE)
    fill(driver, "create-confirm", PASSPHRASE + "x")
    driver.find_element(By.ID, "create-submit").click()
    text_appears(wait, "#status", "differ")
    fill(driver, "create-confirm", PASSPHRASE)
    driver.find_element(By.ID, "create-submit").click()
    wait.until(ec.presence_of_element_located((By.ID, "composer-text")))
    step("identity created")

    fill(driver, "composer-text", MINE)
    driver.find_element(By.ID, "composer-submit").click()
    text_appears(wait, "#timeline .post", MINE)
    step("posted from the browser")

    driver.find_element(By.ID, "nav-profile").click()
    wait.until(ec.presence_of_element_located((By.ID, "user-id")))
    alice = driver.find_element(By.ID, "user-id").text
    assert len(alice) == 64, alice
    text_appears(wait, "h1", "Alice Web")
    fill(driver, "profile-description", "I post from a browser.")
    driver.find_element(By.ID, "profile-submit").click()
    text_appears(wait, ".description", "I post from a browser.")
    shot(driver, "profile")
    step(f"profile: {alice}")

    polychat("follow", alice)
    feed = polychat("feed", "--json")
    assert MINE in feed, f"bob's feed lacks the browser's post: {feed}"
    step("polychat sees the browser's post")

    driver.find_element(By.LINK_TEXT, "Timeline").click()
    wait.until(ec.presence_of_element_located((By.ID, "follow-input")))
    fill(driver, "follow-input", "not a user")
    driver.find_element(By.ID, "follow-submit").click()
    text_appears(wait, "#status", "64-character id")
    fill(driver, "follow-input", BOB_ID)
    driver.find_element(By.ID, "follow-submit").click()
    text_appears(wait, "#timeline .post", "hello from polychat")
    text_appears(wait, "#timeline .post", MINE)
    shot(driver, "timeline")
    step("following bob: his post is in the timeline")

    bobs = [p for p in driver.find_elements(By.CSS_SELECTOR, "#timeline .post") if "hello from polychat" in p.text]
    bobs[0].find_element(By.CSS_SELECTOR, "a.open").click()
    wait.until(ec.presence_of_element_located((By.ID, "reply-text")))
    fill(driver, "reply-text", REPLY)
    driver.find_element(By.ID, "reply-submit").click()
    text_appears(wait, "#replies .post", REPLY)
    shot(driver, "post")
    step("replied in the browser")
    feed = polychat("feed", "--json")
    assert REPLY in feed, f"bob's feed lacks the reply: {feed}"
    step("polychat sees the reply")

    # Offline: the reply is kept in the browser, said so, and sent with the next one.
    offline = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", offline)
    fill(driver, "reply-text", "written offline")
    driver.find_element(By.ID, "reply-submit").click()
    text_appears(wait, "#status", "not yet on the server")
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", dict(offline, offline=False))
    fill(driver, "reply-text", "back online")
    driver.find_element(By.ID, "reply-submit").click()
    text_appears(wait, "#replies .post", "back online")
    feed = polychat("feed", "--json")
    assert "written offline" in feed and "back online" in feed, f"bob's feed lacks the offline reply: {feed}"
    step("a reply written offline is sent later")

    # Two tabs of one identity never give two events the same clock (the server would keep
    # only the first).
    first = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(f"{BASE}/app/")
    fill_when_ready(wait, driver, "unlock-passphrase", PASSPHRASE)
    driver.find_element(By.ID, "unlock-submit").click()
    wait.until(ec.presence_of_element_located((By.ID, "composer-text")))
    fill(driver, "composer-text", "from the second tab")
    driver.find_element(By.ID, "composer-submit").click()
    text_appears(wait, "#timeline .post", "from the second tab")
    driver.close()
    driver.switch_to.window(first)
    fill(driver, "reply-text", "from the first tab")
    driver.find_element(By.ID, "reply-submit").click()
    text_appears(wait, "#replies .post", "from the first tab")
    feed = polychat("feed", "--json")
    assert "from the second tab" in feed and "from the first tab" in feed, f"a tab's event was lost: {feed}"
    step("two tabs, no clock used twice")

    driver.find_element(By.LINK_TEXT, "Search").click()  # in the page: a new load would lock it
    wait.until(ec.presence_of_element_located((By.ID, "search-input")))
    fill(driver, "search-input", "polychat")
    driver.find_element(By.CSS_SELECTOR, "#search-form button").click()
    text_appears(wait, "#search-results .post", "hello from polychat")
    shot(driver, "search")
    step("search finds bob's post")

    driver.refresh()
    wait.until(ec.presence_of_element_located((By.ID, "unlock-passphrase")))
    shot(driver, "unlock")
    fill(driver, "unlock-passphrase", "wrong passphrase")
    driver.find_element(By.ID, "unlock-submit").click()
    text_appears(wait, "#status", "Wrong passphrase")
    fill(driver, "unlock-passphrase", PASSPHRASE)
    driver.find_element(By.ID, "unlock-submit").click()
    wait.until(ec.presence_of_element_located((By.ID, "search-input")))  # the page it was on
    driver.find_element(By.LINK_TEXT, "Timeline").click()
    text_appears(wait, "#timeline .post", "hello from polychat")
    step("reloaded and unlocked")

    # A post's share link, opened as a new page load: unlock, then that post.
    bobs = [p for p in driver.find_elements(By.CSS_SELECTOR, "#timeline .post") if "hello from polychat" in p.text]
    share = bobs[0].get_attribute("data-link")
    assert share.startswith("/app/post/"), share
    driver.get(f"{BASE}{share}")
    fill_when_ready(wait, driver, "unlock-passphrase", PASSPHRASE)
    driver.find_element(By.ID, "unlock-submit").click()
    text_appears(wait, "main .post", "hello from polychat")
    text_appears(wait, "#replies .post", REPLY)
    step("a share link opens its post")

    # Unfollow from bob's profile: his posts leave the timeline.
    driver.find_element(By.CSS_SELECTOR, "main .post a.author").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "follow-toggle"), "Unfollow"))
    driver.find_element(By.ID, "follow-toggle").click()
    text_appears(wait, "#status", "No longer following bob")
    driver.find_element(By.LINK_TEXT, "Timeline").click()
    text_appears(wait, "#timeline .post", MINE)
    assert not any("hello from polychat" in p.text for p in driver.find_elements(By.CSS_SELECTOR, "#timeline .post")), \
        "bob's post is still in the timeline after unfollowing"
    step("unfollowed: his posts are gone from the timeline")

    # The keyboard alone: Tab to the composer, type, Tab to its button, Enter.
    def press(keys):
        ActionChains(driver).send_keys(keys).perform()

    def focused():
        return driver.switch_to.active_element.get_attribute("id")

    for _ in range(30):
        if focused() == "composer-text":
            break
        press(Keys.TAB)
    assert focused() == "composer-text", "Tab never reached the composer"
    press("typed with the keyboard alone")
    press(Keys.TAB)
    assert focused() == "composer-submit", focused()
    press(Keys.ENTER)
    text_appears(wait, "#timeline .post", "typed with the keyboard alone")
    step("posted with the keyboard alone")

    # Nothing the browser reported: no CSP violation, no failed module, no uncaught error.
    # (The failed upload of the offline step is the one error expected.)
    severe = [e for e in driver.get_log("browser")
              if e["level"] == "SEVERE" and "ERR_INTERNET_DISCONNECTED" not in e["message"]]
    assert not severe, f"browser console errors: {severe}"
    # The private key never reached the server: nothing but the sealed envelope is stored.
    stored = json.loads(driver.execute_script("return localStorage.getItem('polygate.identity')"))
    assert stored["kdf"] == "PBKDF2-SHA256" and stored["iterations"] >= 600000 and stored["publicKey"] == alice, stored
    step("console clean; identity stored sealed")

    # The browser's identity file opens in polychat: the same user on a new device.
    driver.find_element(By.ID, "nav-profile").click()
    wait.until(ec.presence_of_element_located((By.ID, "export-identity"))).click()
    exported = f"{SCRATCH}/alice-downloads/polygate-identity.json"
    deadline = time.monotonic() + 20
    while not os.path.exists(exported) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert os.path.exists(exported), "the browser saved no identity file"
    home = f"{SCRATCH}/alice-polychat/state"
    polychat("init", "--server", BASE, "--device-name", "alice-terminal", "--import", exported,
             home=home, POLYCHAT_EXPORT_PASSPHRASE=PASSPHRASE)
    whoami = json.loads(polychat("whoami", "--json", home=home))
    assert whoami["user"] == alice, whoami
    step("polychat imports the browser's identity")


def import_bob(driver, wait):
    """bob's polychat export (--web) opens in a fresh browser: his name, his id, his posts."""
    driver.get(f"{BASE}/app/")
    wait.until(ec.presence_of_element_located((By.ID, "import-form")))
    driver.find_element(By.ID, "import-file").send_keys(BOB_EXPORT)
    fill(driver, "import-passphrase", "not the passphrase")
    fill(driver, "import-new-passphrase", "bob in a browser")
    driver.find_element(By.ID, "import-submit").click()
    text_appears(wait, "#status", "Wrong passphrase")
    fill(driver, "import-passphrase", BOB_EXPORT_PASSPHRASE)
    driver.find_element(By.ID, "import-submit").click()
    text_appears(wait, "#timeline .post", "hello from polychat")
    driver.find_element(By.ID, "nav-profile").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "user-id"), BOB_ID))
    text_appears(wait, "h1", "bob")
    driver.find_element(By.LINK_TEXT, "Timeline").click()
    fill(driver, "composer-text", "bob, now in a browser too")
    driver.find_element(By.ID, "composer-submit").click()
    text_appears(wait, "#timeline .post", "bob, now in a browser too")
    assert driver.execute_script("return localStorage.getItem('polygate.outbox')") == "[]", "events left unsent"
    step("the browser imports polychat's identity")


if __name__ == "__main__":
    started = time.monotonic()
    main()
    step(f"done in {time.monotonic() - started:.1f} s")
