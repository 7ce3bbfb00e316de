"""A recording Spark Connect endpoint for the Databricks Connect test (runs in tests/spark's venv).

- a grpcio server with TLS (a self-signed certificate for 127.0.0.1 that clients trust through
  `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`) implementing just enough of Spark Connect's service for
  `spark.range(n).collect()` and Databricks Connect's serverless validation;
- an interceptor that, on every call, reads the `authorization` metadata and checks the Bearer
  token with the emulator's SCIM Me right then (a token that expired a moment ago fails), refusing
  the call (UNAUTHENTICATED) otherwise, and appends one JSON line per call to the record file;
- an HTTP CONNECT proxy: the client reaches "the workspace host" over gRPC with `grpc_proxy`
  pointing here, and every tunnel ends at the TLS server above. The workspace's REST side stays
  the emulator itself, so the same host serves both, as on Databricks.

Usage: python grpc_recorder.py EMULATOR_URL WORKDIR  -> prints `READY <proxy port>`.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import socket
import sys
import threading
import urllib.error
import urllib.request
from concurrent import futures
from pathlib import Path

import grpc
import pyarrow as pa
from pyspark.sql.connect.proto import base_pb2, base_pb2_grpc

SERVICE = "spark.connect.SparkConnectService"


def make_cert(workdir: Path) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (workdir / "cert.pem").write_bytes(cert_pem)
    return cert_pem, key_pem


class Recorder(grpc.ServerInterceptor):
    def __init__(self, emulator_url: str, record: Path) -> None:
        self.emulator_url = emulator_url
        self.record = record
        self.lock = threading.Lock()

    def who(self, authorization: str) -> str | None:
        request = urllib.request.Request(  # noqa: S310 - the emulator's http URL
            f"{self.emulator_url}/api/2.0/preview/scim/v2/Me",
            headers={"Authorization": authorization},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return str(json.load(response).get("userName"))
        except urllib.error.HTTPError:
            return None

    def intercept_service(self, continuation, details):  # type: ignore[no-untyped-def]
        metadata = dict(details.invocation_metadata)
        authorization = str(metadata.get("authorization", ""))
        user = self.who(authorization) if authorization.startswith("Bearer ") else None
        line = {
            "method": details.method.rsplit("/", 1)[-1],
            "user": user,
            # A fingerprint, never the token: the record shows distinct tokens, not their value.
            "token": hashlib.sha256(authorization.encode()).hexdigest()[:12],
            "session": metadata.get("x-databricks-session-id"),
        }
        with self.lock, self.record.open("a") as f:
            f.write(json.dumps(line) + "\n")
        if user is None:

            def refuse(request, context):  # type: ignore[no-untyped-def]
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "no valid Bearer token")

            handler = continuation(details)
            if handler is not None and handler.response_streaming:
                return grpc.unary_stream_rpc_method_handler(refuse)
            return grpc.unary_unary_rpc_method_handler(refuse)
        return continuation(details)


def arrow_batch(n: int) -> bytes:
    table = pa.table({"id": pa.array(range(n), type=pa.int64())})
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


class Service(base_pb2_grpc.SparkConnectServiceServicer):
    def AnalyzePlan(self, request, context):
        response = base_pb2.AnalyzePlanResponse(session_id=request.session_id)
        if request.HasField("spark_version"):
            response.spark_version.version = "3.5.2"
            response.spark_version.dbr_version = "16.1.x-scala2.12"  # a runtime name
            return response
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "only spark_version is recorded here")

    def ExecutePlan(self, request, context):
        n = 3
        relation = request.plan.root
        if relation.HasField("range"):
            n = relation.range.end - relation.range.start
        operation = request.operation_id or "op"
        yield base_pb2.ExecutePlanResponse(
            session_id=request.session_id,
            operation_id=operation,
            response_id="r1",
            arrow_batch=base_pb2.ExecutePlanResponse.ArrowBatch(row_count=n, data=arrow_batch(n)),
        )
        yield base_pb2.ExecutePlanResponse(
            session_id=request.session_id,
            operation_id=operation,
            response_id="r2",
            result_complete=base_pb2.ExecutePlanResponse.ResultComplete(),
        )

    def ReleaseExecute(self, request, context):
        return base_pb2.ReleaseExecuteResponse(
            session_id=request.session_id, operation_id=request.operation_id
        )

    def ReleaseSession(self, request, context):
        return base_pb2.ReleaseSessionResponse(session_id=request.session_id)

    def Config(self, request, context):
        return base_pb2.ConfigResponse(session_id=request.session_id)


def pipe(a: socket.socket, b: socket.socket) -> None:
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def proxy(listener: socket.socket, grpc_port: int) -> None:
    """HTTP CONNECT to any target: the tunnel goes to the recording TLS server."""
    while True:
        client, _ = listener.accept()
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                break
            head += chunk
        if not head.startswith(b"CONNECT "):
            client.close()
            continue
        upstream = socket.create_connection(("127.0.0.1", grpc_port))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()


def main() -> None:
    emulator_url, workdir = sys.argv[1], Path(sys.argv[2])
    cert, key = make_cert(workdir)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8),
        interceptors=[Recorder(emulator_url, workdir / "calls.jsonl")],
    )
    base_pb2_grpc.add_SparkConnectServiceServicer_to_server(Service(), server)
    grpc_port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([(key, cert)]))
    server.start()
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=proxy, args=(listener, grpc_port), daemon=True).start()
    print(f"READY {listener.getsockname()[1]}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
