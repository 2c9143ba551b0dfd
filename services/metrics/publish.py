"""Pushes the generated boards to a running Grafana over its HTTP API, for teams without file provisioning."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError

from services.metrics.panels import Dashboard

FOLDER_UID = "frontdoor"
FOLDER_TITLE = "Front Door Monitor"  # the same folder file provisioning uses


@dataclass(frozen=True, slots=True)
class Published:
    uid: str
    title: str
    url: str
    version: int | None


def grafana_api(url: str, token: str | None) -> GrafanaApi:
    """A client for `url`; the token (service account or API key) comes from settings, never the command line."""
    api: GrafanaApi = GrafanaApi.from_url(url, credential=token)
    return api


def ensure_folder(api: GrafanaApi, uid: str = FOLDER_UID, title: str = FOLDER_TITLE) -> None:
    try:
        api.client.GET(f"/folders/{uid}")
    except GrafanaClientError as error:
        if error.status_code != 404:
            raise
        api.client.POST("/folders", json={"title": title, "uid": uid})


def publish(
    api: GrafanaApi, boards: Iterable[Dashboard], folder_uid: str = FOLDER_UID, folder_title: str = FOLDER_TITLE
) -> list[Published]:
    """Create or overwrite each board by uid in the folder; Grafana keeps the previous versions."""
    ensure_folder(api, folder_uid, folder_title)
    results = []
    for board in boards:
        payload: dict[str, Any] = {
            "dashboard": {**board, "id": None, "version": None},
            "folderUid": folder_uid,
            "overwrite": True,
            "message": "frontdoor dashboards publish",
        }
        answer = api.client.POST("/dashboards/db", json=payload)
        results.append(Published(board["uid"], board["title"], str(answer.get("url", "")), answer.get("version")))
    return results
