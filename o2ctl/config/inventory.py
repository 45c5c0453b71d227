"""The hardware inventory (host → detector) from the configuration store, as apricot reads it.

apricot lists the keys under ``o2/hardware/detectors/`` and takes, from a key
``o2/hardware/detectors/DET/flps/HOST/``, that ``HOST`` belongs to ``DET``. ``Inventory``
does the same, once, on first use (an expansion that never asks costs no read), and is the
``Mapping`` that ``inventory.DetectorForHost``/``DetectorsForHosts`` look hosts up in. An
FLP's readout cards are the JSON object at ``o2/hardware/flps/HOST/cards`` (card → its
``serial``, ``endpoint``, ``type`` …), read by ``inventory.CRUCardsForHost`` and
``EndpointsForCRUCard`` through ``Inventory.cards_for_host``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from o2ctl.config.errors import ConfigError
from o2ctl.config.kvstore import ConfigStore

DETECTORS_PREFIX = "o2/hardware/detectors"
FLPS_PREFIX = "o2/hardware/flps"


def read_inventory(store: ConfigStore) -> dict[str, str]:
    """Every FLP host of the store's inventory with its detector."""
    hosts: dict[str, str] = {}
    for key in store.keys(DETECTORS_PREFIX):
        parts = key.split("/")
        if len(parts) < 6 or parts[:3] != ["o2", "hardware", "detectors"]:
            continue
        if parts[4] != "flps" or not parts[5]:
            continue
        detector, host = parts[3], parts[5]
        known = hosts.setdefault(host, detector)
        if known != detector:
            raise ConfigError(
                f"hardware inventory: host {host!r} is listed under detectors {known} and "
                f"{detector} ({DETECTORS_PREFIX}/…/flps/{host}/)"
            )
    return hosts


class Inventory(Mapping[str, str]):
    """Host → detector, read from ``store`` on first access."""

    def __init__(self, store: ConfigStore) -> None:
        self.store = store
        self._hosts: dict[str, str] | None = None

    def __repr__(self) -> str:
        return f"Inventory({self.store!r})"

    def _load(self) -> dict[str, str]:
        if self._hosts is None:
            self._hosts = read_inventory(self.store)
        return self._hosts

    def __getitem__(self, host: str) -> str:
        return self._load()[host]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def cards_for_host(self, host: str) -> list[dict[str, str]]:
        """The readout cards of ``host``, as its ``cards`` key lists them."""
        key = f"{FLPS_PREFIX}/{host}/cards"
        text = self.store.get(key)
        if text is None:
            raise ConfigError(f"hardware inventory: no {key}")
        try:
            cards = json.loads(text)
        except ValueError as e:
            raise ConfigError(f"hardware inventory: {key} is not JSON: {e}") from None
        if not isinstance(cards, dict) or not all(isinstance(c, dict) for c in cards.values()):
            raise ConfigError(f"hardware inventory: {key} is not an object of card objects")
        return [{k: str(v) for k, v in card.items()} for card in cards.values()]
