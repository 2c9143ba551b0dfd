"""Page loads in headless Chromium: each page's load time from the browser's own Navigation Timing entry.

A sample is `loadEventEnd` of the navigation (request start to the page fully loaded, including a POST's
redirect for a search), read after selenium returns from the navigation.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

NAVIGATION = "const n = performance.getEntriesByType('navigation')[0]; return n ? n.toJSON() : null;"


def navigation_seconds(driver: WebDriver) -> float:
    entry: dict[str, Any] | None = None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        entry = driver.execute_script(NAVIGATION)
        if entry and entry.get("loadEventEnd", 0) > 0:
            return float(entry["loadEventEnd"] - entry["startTime"]) / 1000
        time.sleep(0.01)
    raise TimeoutError("the page did not finish loading")


def load(driver: WebDriver, url: str) -> float:
    driver.get(url)
    return navigation_seconds(driver)


def search(driver: WebDriver, base_url: str, la_child_id: str) -> float:
    """The search form on the feed, submitted: POST, redirect, and the child's alerts page loaded."""
    driver.get(f"{base_url}/feed")
    box = driver.find_element(By.ID, "f-child-id")
    box.send_keys(la_child_id)
    driver.find_element(By.CSS_SELECTOR, "form.search button").click()
    WebDriverWait(driver, 20, ignored_exceptions=(WebDriverException,)).until(_results_loaded)
    return navigation_seconds(driver)


def _results_loaded(driver: WebDriver) -> bool:
    """The search's own page (its URL names the child) has finished loading; mid-navigation errors are retried."""
    return "child=" in driver.current_url and driver.execute_script("return document.readyState") == "complete"


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "samples": len(ordered),
        "p50_seconds": round(statistics.median(ordered), 4),
        "p95_seconds": round(p95, 4),
        "max_seconds": round(ordered[-1], 4),
    }


def measure(samples: int, step: Callable[[int], float]) -> dict[str, float]:
    step(0)  # one warm-up navigation, not counted
    return percentiles([step(i) for i in range(samples)])
