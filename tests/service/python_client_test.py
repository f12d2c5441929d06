#!/usr/bin/env python3
"""A second language from the proto alone: Python (Debian's python3-grpcio) against a real lovebankd.

Generates stubs from proto/ with the system protoc and grpc_python_plugin, starts lovebankd on a
free loopback port with a fresh data directory, and as admin, issuer and terminal does an earn, a
redeem and a balance read, reads a refusal's machine-readable reason from the status details,
checks grpc.health.v1 and lists the services by reflection; then the same API over HTTP/JSON with
nothing but the standard library (urllib, json), as a phone's web page or mini-program would: an
earn in Chinese and its retry answered exactly once, a balance, a refusal's reason and /healthz.
Then it stops the daemon with SIGTERM.

usage: python_client_test.py LOVEBANKD PROTO_DIR GRPC_PROTO_DIR WORK_DIR
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import json
import urllib.error
import urllib.request

lovebankd, proto_dir, grpc_proto_dir, work = sys.argv[1:5]
shutil.rmtree(work, ignore_errors=True)
out = os.path.join(work, "py")
os.makedirs(out)

# Health and reflection protos go into a flat directory: a generated grpc/ package would shadow
# the grpcio module (../shared/BUILD-NOTES.md).
flat = os.path.join(work, "flat")
os.makedirs(flat)
shutil.copy(os.path.join(grpc_proto_dir, "grpc/health/v1/health.proto"), flat)
shutil.copy(os.path.join(grpc_proto_dir, "grpc/reflection/v1alpha/reflection.proto"), flat)
subprocess.run(
    ["protoc", "-I", proto_dir, "-I", flat, "--python_out", out, "--grpc_out", out,
     "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
     "lovebank/v1/journal.proto", "lovebank/v1/store.proto", "lovebank/v1/api.proto",
     "google/rpc/status.proto", "health.proto", "reflection.proto"],
    check=True)
sys.path.insert(0, out)

import grpc  # noqa: E402
from lovebank.v1 import api_pb2, api_pb2_grpc, journal_pb2  # noqa: E402
from google.rpc import status_pb2  # noqa: E402
import health_pb2, health_pb2_grpc, reflection_pb2, reflection_pb2_grpc  # noqa: E402

data = os.path.join(work, "data")
daemon = subprocess.Popen([lovebankd, "--listen", "127.0.0.1:0", "--data-dir", data,
                           "--init", "--clock-start", "2026-11-20T08:00:00Z",
                           "--http-listen", "127.0.0.1:0"],
                          stderr=subprocess.PIPE, text=True)
port = http_port = None
for line in daemon.stderr:
    match = re.search(r"listening on port (\d+)", line)
    if match:
        port = int(match.group(1))
    match = re.search(r"serving HTTP/JSON on port (\d+)", line)
    if match:
        http_port = int(match.group(1))
    if port and http_port:
        break
assert port and http_port, "lovebankd did not report its ports"


def post(route, body, token):
    """POST /v1/<route> with a JSON body: (HTTP status, the JSON answer)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{http_port}/v1/{route}", data=json.dumps(body).encode("utf-8"),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


try:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    ledger = api_pb2_grpc.LedgerStub(channel)
    admin = api_pb2_grpc.AdminStub(channel)

    def auth(token):
        return [("authorization", "Bearer " + token)]

    admin_token = open(os.path.join(data, "admin.token")).read().strip()
    for account, kind, name, budgets in [
            ("issuer:town", journal_pb2.ACCOUNT_KIND_ISSUER, "爱心银行",
             [journal_pb2.Budget(asset="POINTS", amount="10000"),
              journal_pb2.Budget(asset="HOURS", amount="1000")]),
            ("store:main", journal_pb2.ACCOUNT_KIND_STORE, "爱心超市", []),
            ("M0001", journal_pb2.ACCOUNT_KIND_MEMBER, "韦蕊", [])]:
        ledger.OpenAccount(api_pb2.OpenAccountRequest(
            request_id="open-" + account, account=account, kind=kind, display_name=name,
            budgets=budgets), metadata=auth(admin_token), timeout=10)
    issuer = admin.CreatePrincipal(api_pb2.CreatePrincipalRequest(
        request_id="grant-issuer", principal="social-worker", role=journal_pb2.ROLE_ISSUER,
        accounts=["issuer:town"]), metadata=auth(admin_token), timeout=10).token
    till = admin.CreatePrincipal(api_pb2.CreatePrincipalRequest(
        request_id="grant-till", principal="till-1", role=journal_pb2.ROLE_TERMINAL,
        accounts=["store:main"]), metadata=auth(admin_token), timeout=10).token

    earned = ledger.Earn(api_pb2.EarnRequest(
        request_id="py-earn-1", issuer="issuer:town", member="M0001", asset="POINTS",
        amount="3000", reason="考上大学 (university admission)"), metadata=auth(issuer), timeout=10)
    assert len(earned.hash) == 64 and earned.seq > 0, earned
    ledger.Earn(api_pb2.EarnRequest(
        request_id="py-hours-1", issuer="issuer:town", member="M0001", asset="HOURS", amount="2",
        activity=journal_pb2.Activity(name="重阳节敬老活动", date="2026-10-29")),
        metadata=auth(issuer), timeout=10)
    sale = ledger.Redeem(api_pb2.RedeemRequest(
        request_id="py-sale-1", member="M0001", store="store:main", asset="POINTS",
        amount="45.50", memo="食用油 5L ×1"), metadata=auth(till), timeout=10)
    after = {(b.account, b.asset): b.amount for b in sale.balances_after}
    assert after[("M0001", "POINTS")] == "2954.50", after

    balance = ledger.GetBalance(api_pb2.GetBalanceRequest(account="M0001"),
                                metadata=auth(till), timeout=10)
    got = {b.asset: b.amount for b in balance.balances}
    assert got == {"HOURS": "2.00", "POINTS": "2954.50"}, got
    account = ledger.GetAccount(api_pb2.GetAccountRequest(account="M0001"),
                                metadata=auth(till), timeout=10)
    assert account.display_name == "韦蕊", account.display_name

    # A refusal: the reason is in the status details (google.rpc.Status -> ErrorDetail).
    try:
        ledger.Redeem(api_pb2.RedeemRequest(
            request_id="py-sale-2", member="M0001", store="store:main", asset="POINTS",
            amount="9999"), metadata=auth(till), timeout=10)
        raise AssertionError("an overdraft was accepted")
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error
        details = dict(error.trailing_metadata())["grpc-status-details-bin"]
        rich = status_pb2.Status.FromString(details)
        detail = api_pb2.ErrorDetail()
        assert rich.details[0].Unpack(detail)
        assert detail.reason == api_pb2.REASON_INSUFFICIENT_BALANCE, detail
        assert error.details().startswith("INSUFFICIENT_BALANCE"), error.details()

    health = health_pb2_grpc.HealthStub(channel)
    for service in ["", "lovebank.v1.Ledger", "lovebank.v1.Audit"]:
        status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status
        assert status == health_pb2.HealthCheckResponse.SERVING, (service, status)

    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    replies = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10)
    services = {s.name for reply in replies for s in reply.list_services_response.service}
    assert {"lovebank.v1.Ledger", "lovebank.v1.Audit", "lovebank.v1.Admin",
            "grpc.health.v1.Health"} <= services, services
    # The same API over HTTP/JSON (proto3 JSON names; amounts are decimal strings).
    award = {"requestId": "http-earn-1", "issuer": "issuer:town", "member": "M0001",
             "asset": "POINTS", "amount": "500", "reason": "学习进步明显 (clear progress)"}
    status, first = post("Ledger/Earn", award, issuer)
    assert status == 200 and int(first["seq"]) > sale.seq, (status, first)
    status, retry = post("Ledger/Earn", award, issuer)
    assert status == 200 and retry["seq"] == first["seq"], (status, retry)  # exactly once
    status, balance = post("Ledger/GetBalance", {"account": "M0001"}, till)
    assert status == 200, balance
    assert {b["asset"]: b["amount"] for b in balance["balances"]} == \
        {"HOURS": "2.00", "POINTS": "3454.50"}, balance
    status, refused = post("Ledger/Redeem", {"requestId": "http-sale-2", "member": "M0001",
                                             "store": "store:main", "asset": "POINTS",
                                             "amount": "9999"}, till)
    assert status == 412 and refused["reason"] == "INSUFFICIENT_BALANCE", (status, refused)
    status, wrong = post("Ledger/Redeem", {"requestId": "http-sale-3", "amout": "1"}, till)
    assert status == 400 and wrong["reason"] == "HTTP_BODY_INVALID", (status, wrong)
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=10) as answer:
        assert json.load(answer)["status"] == "SERVING"
    print("python client: earn, redeem, balance, refusal reason, health and reflection OK",
          "over gRPC, and earn (exactly once), balance and refusals over HTTP/JSON; services:",
          " ".join(sorted(services)))
finally:
    daemon.send_signal(signal.SIGTERM)
    rest = daemon.stderr.read()
    code = daemon.wait(timeout=60)
assert code == 0, f"lovebankd exited {code}: {rest}"
assert "stopped cleanly" in rest, rest
