"""json-stat2 parser (hand-made and the two real recorded responses) and the PxWebApi client
end to end against a local HTTP server on 127.0.0.1."""
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from forecast import scb_api
from forecast.errors import DataError

SMALL = {  # 2 regions x 2 ages x 2 sexes x 1 year, row-major in id order
    "version": "2.0", "class": "dataset", "id": ["Region", "Alder", "Kon", "Tid"], "size": [2, 2, 2, 1],
    "dimension": {
        "Region": {"category": {"index": {"0180": 0, "0182": 1}}},
        "Alder": {"category": {"index": ["16", "100+"]}},
        "Kon": {"category": {"index": {"1": 0, "2": 1}}},
        "Tid": {"category": {"index": {"2024": 0}}},
    },
    "value": [1, 2, 3, 4, 5, 6, 7, 8],
}


def test_parse_dense_hand_made():
    cells = scb_api.parse_jsonstat2(SMALL)
    assert len(cells) == 8
    r = cells[(cells.Region == "0182") & (cells.Alder == "16") & (cells.Kon == "2")]
    assert r.value.iloc[0] == 6
    pop = scb_api.population_by_single_age(cells).set_index(["kommun_kod", "age", "sex"])["population"]
    assert pop["0180", 100, "kvinnor"] == 4 and pop["0182", 16, "män"] == 5


def test_parse_sparse_values():
    sparse = dict(SMALL, value={"0": 1, "7": 8})
    cells = scb_api.parse_jsonstat2(sparse)
    assert cells.value.iloc[0] == 1 and cells.value.iloc[7] == 8 and cells.value.isna().sum() == 6


def test_parse_rejects_size_mismatch():
    with pytest.raises(DataError, match="values for"):
        scb_api.parse_jsonstat2(dict(SMALL, value=[1, 2, 3]))


def _recorded(sources, table):
    files = sorted((sources / "scb" / "api-responses").glob(f"*_{table}_*.json"))
    return json.loads(files[0].read_text(encoding="utf-8"))


def test_real_tab638_response(sources):
    cells = scb_api.parse_jsonstat2(_recorded(sources, "TAB638"))   # envelope: only 'response' is used
    assert len(cells) == 2 * 4 * 1 * 2 * 1 * 8     # size [2, 4, 1, 2, 1, 8]
    uppsala_2000 = cells[(cells.Region == "0380") & (cells.Tid == "2000")].value.sum()
    assert uppsala_2000 == 189_569                      # official figure, summed over marital status and sex
    knivsta = cells[cells.Region == "0330"].groupby("Tid").value.sum()
    assert knivsta["2001"] == 0 and knivsta["2002"] == 12_586
    with pytest.raises(DataError, match="no single-year ages"):
        scb_api.population_by_single_age(cells)


def test_real_tab5557_response(sources):
    cells = scb_api.parse_jsonstat2(_recorded(sources, "TAB5557"))
    pop = scb_api.population_by_single_age(cells)
    assert pop.population.sum() == 999_237              # single ages only, aggregates dropped
    assert pop[pop.age.between(16, 18)].population.sum() == 31_952
    assert set(pop.sex) == {"totalt"}


class _Handler(BaseHTTPRequestHandler):
    responses: dict = {}
    bodies: list = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append((self.path, body))
        year = next(s["valueCodes"][0] for s in body["selection"] if s["variableCode"] == "Tid")
        data = type(self).responses.get(year)
        if data is None:
            self.send_response(400)
            self.end_headers()
            self.wfile.write(b'{"error": "bad selection"}')
            return
        raw = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = HTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/api/v2"
    httpd.shutdown()
    httpd.server_close()


def test_client_end_to_end_against_local_server(tmp_path, server):
    _Handler.responses = {"2024": SMALL}
    _Handler.bodies = []
    files = scb_api.fetch_population(tmp_path, ["0180", "0182"], [2024], base_url=server, pause=0)
    assert [f.name for f in files] == ["TAB638_2024.json"]
    path, body = _Handler.bodies[0]
    assert path.startswith("/api/v2/tables/TAB638/data") and "outputFormat=json-stat2" in path
    sel = {s["variableCode"]: s["valueCodes"] for s in body["selection"]}
    assert sel["Region"] == ["0180", "0182"] and sel["Kon"] == ["1", "2"] and len(sel["Alder"]) == 101
    pop = scb_api.population_from_file(files[0], {"0180", "0182"})
    assert pop.population.sum() == 36 and set(pop.columns) == {"kommun_kod", "year", "age", "sex", "population"}


def test_client_real_recorded_response_served(tmp_path, server, sources):
    _Handler.responses = {"2025": _recorded(sources, "TAB5557")["response"]}
    files = scb_api.fetch_population(tmp_path, ["0180"], [2025], base_url=server, pause=0)
    cells = scb_api.parse_jsonstat2(json.loads(files[0].read_text()))
    assert scb_api.population_by_single_age(cells).population.sum() == 999_237


def test_client_http_error_is_clear_and_writes_nothing(tmp_path, server):
    _Handler.responses = {}
    with pytest.raises(DataError, match="HTTP 400"):
        scb_api.fetch_population(tmp_path, ["0180"], [2024], base_url=server, pause=0)
    assert not list((tmp_path / "scb" / "pxweb").glob("*.json"))
