"""The done-when path on the demo data set as a new user would walk it: after the demo session the item
writer opens the analysis, sees flagged items in the review queue, and the bank shows calibrated parameters."""
import re

from tests.conftest import api_token, login


def test_after_the_demo_session_the_writer_sees_analysis_flags_and_calibration(demo, client):
    h = api_token(client, "writer")
    login(client, "writer")
    home = client.get("/")
    assert b'href="/analysis/"' in home.data                      # the navigation offers the analysis
    index = client.get("/analysis/")
    assert index.status_code == 200
    reports = re.findall(rb'href="/analysis/runs/(\d+)" data-testid="report-link"', index.data)
    assert len(reports) == 2                                        # forms A and B of the demo sitting
    report = client.get(f"/analysis/runs/{int(reports[0])}")
    assert report.status_code == 200 and b'data-testid="alpha"' in report.data and b'id="icc"' in report.data

    queue = client.get("/itembank/review")
    flagged = re.findall(rb'data-testid="flagged-item"><td><a href="/itembank/items/(\d+)"', queue.data)
    assert flagged, "the demo analysis sends flagged items to the review queue"

    items = client.get("/api/v1/itembank/items?limit=500", headers=h).get_json()["items"]
    calibrated = [i for i in items if i["difficulty"]["a"] is not None and i["difficulty"]["b"] is not None]
    assert len(calibrated) >= 5
