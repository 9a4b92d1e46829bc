"""Headless Chromium (Debian's chromium + chromium-driver) driven by Selenium, phone-sized, in New York's zone.

The browser is phone-sized by mobile emulation (390x844; headless windows cannot
be narrower than about 500 px) and logs every network request so tests can check
none leaves the origin. Screenshots go to var/test-artifacts/pages/ (or $TEND_TEST_ARTIFACTS).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("TEND_TEST_ARTIFACTS", Path(__file__).parents[2] / "var" / "test-artifacts")) / "pages"
PHONE = {"width": 390, "height": 844, "pixelRatio": 2}


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


def make_driver(javascript: bool = True):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=en-GB"):
        options.add_argument(flag)
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": PHONE})
    prefs = {"intl.accept_languages": "en-GB"}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "America/New_York"})
    return driver


class Browser:
    """The driver, plus what the tests ask of every page: screenshots, axe, and the origins it asked for."""

    def __init__(self, driver, javascript: bool, name: str) -> None:
        self.driver = driver
        self.javascript = javascript
        self.folder = ARTIFACTS / ("js" if javascript else "no-js")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.requested: list[str] = []

    def screenshot(self, name: str) -> Path:
        path = self.folder / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def requests(self) -> list[str]:
        """URLs the browser asked for since the last call (from Chromium's performance log)."""
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                self.requested.append(message["params"]["request"]["url"])
        found, self.requested = self.requested, []
        return found

    def foreign_requests(self, origin: str) -> list[str]:
        return [
            url
            for url in self.requests()
            if not url.startswith(("data:", "about:")) and f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" != origin
        ]

    def axe_violations(self) -> list[dict]:
        """Serious and critical axe-core violations of the current page."""
        self.driver.execute_script(AXE.read_text())
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations), e => done([{impact: 'critical', id: String(e)}]));"
        )
        return [
            {"id": v["id"], "impact": v["impact"], "nodes": [n.get("target") for n in v.get("nodes", [])][:3]}
            for v in result
            if v["impact"] in ("serious", "critical")
        ]
