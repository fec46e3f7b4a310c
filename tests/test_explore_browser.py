"""`gandyn explore` driven in a real headless browser: Chromium from the system's
packages through Selenium and the system's chromedriver (nothing is downloaded).

WGAN Dirac-GAN, h = 0.1: simultaneous GD spirals out (|1 + ih| = 1.005 per step),
extragradient spirals in (|1 + ih − h²| = 0.995 per step)."""

import shutil
import threading

import pytest

from gandyn._explore import make_server


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip("no Chromium with chromedriver on PATH (Debian: apt-get install chromium "
                "chromium-driver; .ci/run installs them)", allow_module_level=True)

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def server():
    server = make_server(0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1400,1000", "--force-device-scale-factor=1"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def settled(driver, timeout=120):
    """Wait until no request of the page is in flight, and no error is shown."""
    WebDriverWait(driver, timeout).until(
        lambda d: "busy-" not in (d.find_element(By.TAG_NAME, "body").get_attribute("class")
                                  or ""))
    error = driver.find_element(By.ID, "error")
    assert not error.is_displayed(), error.text


def statuses(driver):
    return [row.get_attribute("data-status")
            for row in driver.find_elements(By.CSS_SELECTOR, "#trajectories tbody tr")]


def test_click_a_trajectory_then_change_the_method(server, browser, tmp_path):
    browser.get(server.url)
    WebDriverWait(browser, 60).until(
        lambda d: len(Select(d.find_element(By.ID, "method")).options) > 0)
    Select(browser.find_element(By.ID, "loss")).select_by_value("wgan")
    Select(browser.find_element(By.ID, "method")).select_by_value("simgd")
    settled(browser)
    assert statuses(browser) == []

    # Click the plane up and to the right of the equilibrium (the canvas's centre is
    # near (0, 0) in θ, ψ).
    canvas = browser.find_element(By.ID, "portrait")
    ActionChains(browser).move_to_element_with_offset(canvas, 100, -80).click().perform()
    WebDriverWait(browser, 120).until(lambda d: statuses(d))
    settled(browser)
    assert statuses(browser) == ["diverging"]
    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.get_attribute("data-verdict") == "diverges"
    assert "1.00499" in browser.find_element(By.CSS_SELECTOR, "#trajectories tbody").text

    Select(browser.find_element(By.ID, "method")).select_by_value("extragradient")
    settled(browser)
    assert statuses(browser) in (["converging"], ["converged"])
    assert verdict.get_attribute("data-verdict") == "converges"
    assert "0.995038" in browser.find_element(By.CSS_SELECTOR, "#trajectories tbody").text

    # The state is in the URL: opening the link shows the same view.
    link = browser.current_url
    assert "method=extragradient" in link and "loss=wgan" in link and "point=" in link
    assert browser.find_element(By.ID, "share").get_attribute("href") == link
    browser.get(link)
    WebDriverWait(browser, 120).until(lambda d: statuses(d))
    settled(browser)
    assert statuses(browser) in (["converging"], ["converged"])
    method = Select(browser.find_element(By.ID, "method")).first_selected_option
    assert method.text == "extragradient"
    csv = browser.find_element(By.ID, "export-csv").get_attribute("href")
    assert "/api/trajectory.csv?" in csv and "point=" in csv

    path = tmp_path / "explore.png"
    assert browser.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000
