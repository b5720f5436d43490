"""Drives the gateway with Python's standard XML-RPC client, as a third-party collector would.

Usage: python3 tests/xmlrpc_client.py URL TOKEN   (run by the gateway's integration tests)
"""

import datetime
import sys
import uuid
import xmlrpc.client

FAULT_BAD_TOKEN = 1
FAULT_MALFORMED = 2
FAULT_INVALID_BATCH = 3
FAULT_UNKNOWN_METHOD = 7
FAULT_BAD_PARAMS = 8


def expect_fault(code, call, *args):
    try:
        call(*args)
    except xmlrpc.client.Fault as fault:
        assert fault.faultCode == code, (code, fault.faultCode, fault.faultString)
        return fault
    raise AssertionError(f"expected fault {code}")


def batch():
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0, tzinfo=None)
    observed = now - datetime.timedelta(minutes=1)
    return {
        "batch_id": str(uuid.uuid4()),
        "sequence": 1,
        "sent_at": now,  # marshalled as <dateTime.iso8601>, taken as UTC
        "devices": [
            {
                "observed_at": observed,
                "identity": {"vendor": "Kyocera", "model": "ECOSYS M2540dn", "serial": "VCF9Z12345"},
                "capabilities": {"color": False, "duplex": True, "trays": 1},
                # Python cannot send integers above 2^31-1: decimal strings carry them.
                "counters": {"total": "5000000001", "mono": 4200, "x-scan_local": 17},
                "supplies": [{"kind": "toner", "color": "black", "level": 30, "max": 100}],
                "status": {"device": "running", "printer": "idle", "errors": [], "display": ["Ready"]},
                "alerts": [],
            },
            {
                # An RFC 3339 string with an offset is accepted for times too.
                "observed_at": (observed + datetime.timedelta(hours=1)).isoformat() + "+01:00",
                "identity": {"vendor": "Brother", "mac": "00:1b:a9:01:02:03"},
                "counters": {"total": 77},
            },
        ],
    }


def main():
    url, token = sys.argv[1], sys.argv[2]
    proxy = xmlrpc.client.ServerProxy(url, allow_none=True)

    sent = batch()
    result = proxy.fleet.submit(token, sent)
    assert result["batch_id"] == sent["batch_id"], result
    assert result["devices"] == 2 and result["duplicate"] is False and result["rejected"] == [], result
    again = proxy.fleet.submit(token, sent)
    assert again["duplicate"] is True, again

    pong = proxy.fleet.ping(token)
    assert "version" in pong and isinstance(pong["server_time"], xmlrpc.client.DateTime), pong
    assert "fleet.submit" in proxy.system.listMethods()

    expect_fault(FAULT_BAD_TOKEN, proxy.fleet.submit, "fmt_wrong", batch())
    bad_id = batch()
    bad_id["batch_id"] = "not-a-uuid"
    expect_fault(FAULT_INVALID_BATCH, proxy.fleet.submit, token, bad_id)
    expect_fault(FAULT_MALFORMED, proxy.fleet.submit, token, "not a struct")
    expect_fault(FAULT_UNKNOWN_METHOD, proxy.fleet.nothing)
    expect_fault(FAULT_BAD_PARAMS, proxy.fleet.ping)

    multi = xmlrpc.client.MultiCall(proxy)
    multi.fleet.ping(token)
    multi.fleet.ping("fmt_wrong")
    multi.fleet.submit(token, batch())
    results = multi()
    assert "version" in results[0]
    try:
        results[1]
        raise AssertionError("the second call must fail")
    except xmlrpc.client.Fault as fault:
        assert fault.faultCode == FAULT_BAD_TOKEN
    assert results[2]["devices"] == 2

    print("python xmlrpc client: all checks passed")


if __name__ == "__main__":
    main()
