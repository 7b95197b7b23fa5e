#!/usr/bin/env python3
"""An NPP v2 prover in Python (stdlib only), written from protocols/native-prover.md.

It proves NOTHING cryptographically: a "segment proof" carries the segment's input bytes and the SHA-256 chain
states at its ends, and the verifier recomputes them. It exists to show the protocol (see README.md).

Programs:
  sha256-chain  segmented, 4096-byte blocks: s_0 = SHA-256("pm-py/chain/init" || u64be(size)),
                s_{b+1} = SHA-256(s_b || block b); the digest is s_totalBlocks
  sha256-whole  segmented: false: one segment, digest = SHA-256(SHA-256("pm-py/whole/init" || u64be(size)) || input)
"""
import hashlib
import json
import os
import struct
import sys
import tempfile
import threading
import time

PROTOCOL = 2
VERSION = "0.1.0"
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = -32700, -32600, -32601, -32602, -32603
UNKNOWN_PROGRAM, IO_ERROR, INVALID_SEGMENT, CANCELLED, PROOF_INVALID, INVALID_HINTS = 1001, 1002, 1003, 1004, 1005, 1006
MAX_SEGMENTS = 16384
SEGMENT_MAGIC = b"PMPYSEG1"
BUNDLE_MAGIC = b"PMPYBND1"
MAX_HEADER = 1 << 20

PROGRAMS = {
    "sha256-chain": {"id": "sha256-chain", "segmented": True, "blockBytes": 4096, "maxSegmentBlocks": 16384,
                     "description": "SHA-256 chain of 4 KiB blocks, checked by recomputation (not a ZK proof)"},
    "sha256-whole": {"id": "sha256-whole", "segmented": False, "blockBytes": 1, "maxSegmentBlocks": 1,
                     "description": "SHA-256 of the whole input, checked by recomputation (not a ZK proof)"},
}


class RpcError(Exception):
    def __init__(self, code, message, data=None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


class Cancelled(Exception):
    pass


out_lock = threading.Lock()


def send(message):
    line = json.dumps({"jsonrpc": "2.0", **message}, separators=(",", ":")) + "\n"
    with out_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def progress(job, phase, segment, done, total):
    # `job`: the request's name (NPP v2's `name`, else its `job`), see request_name
    params = {"job": job, "phase": phase, "done": done, "total": total}
    if segment is not None:
        params["segment"] = segment
    send({"method": "progress", "params": params})


# ---- parameters -------------------------------------------------------------------------------------------

def field(params, name, kind, optional=False):
    value = params.get(name)
    if value is None and optional:
        return None
    ok = {
        "str": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2 ** 53,
        "list": isinstance(value, list),
        "dict": isinstance(value, dict),
    }[kind]
    if not ok:
        raise RpcError(INVALID_PARAMS, f"params.{name}: expected {kind}")
    return value


def hex_field(params, name, optional=False):
    value = field(params, name, "str", optional)
    if value is None:
        return None
    value = value.lower()
    if len(value) % 2 or any(c not in "0123456789abcdef" for c in value):
        raise RpcError(INVALID_PARAMS, f"params.{name}: expected hex")
    return value


def program_of(params):
    name = field(params, "program", "str")
    if name not in PROGRAMS:
        raise RpcError(UNKNOWN_PROGRAM, f"unknown program '{name}'")
    return PROGRAMS[name]


def segment_of(params, program, input_size):
    seg = field(params, "segment", "dict")
    s = {k: field(seg, k, "int") for k in ("index", "startBlock", "blockCount", "inputOffset", "inputLength")}
    total = total_blocks(program, input_size)
    if program["segmented"]:
        offset = program["blockBytes"] * s["startBlock"]
        length = max(0, min(program["blockBytes"] * s["blockCount"], input_size - offset))
    else:
        offset, length = 0, input_size
    if s["inputOffset"] != offset or s["inputLength"] != length or s["startBlock"] + s["blockCount"] > total:
        raise RpcError(INVALID_SEGMENT, f"segment {s} is not canonical for an input of {input_size} bytes")
    return s


def read_input(params, offset, length):
    ref = field(params, "input", "dict")
    path, base = field(ref, "path", "str"), field(ref, "offset", "int")
    if base > offset:
        raise RpcError(INVALID_SEGMENT, f"the input file starts at byte {base}, after {offset}")
    try:
        with open(path, "rb") as f:
            f.seek(offset - base)
            data = f.read(length)
    except OSError as e:
        raise RpcError(IO_ERROR, f"cannot read {path}: {e.strerror}", {"path": path})
    if len(data) != length:
        raise RpcError(INVALID_SEGMENT, f"{path} does not cover bytes [{offset}, {offset + length})")
    return data


def read_file(path, cap=None):
    """The file's bytes; with `cap`, at most cap + 1 of them (enough to tell that it is over the cap)"""
    try:
        with open(path, "rb") as f:
            data = f.read() if cap is None else f.read(cap + 1)
    except OSError as e:
        raise RpcError(IO_ERROR, f"cannot read {path}: {e.strerror}", {"path": path})
    return data


def write_atomic(path, data, cancel):
    folder = os.path.dirname(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".pmpy-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if cancel.is_set():
            os.unlink(tmp)
            raise Cancelled()
        os.replace(tmp, path)
    except OSError as e:
        raise RpcError(IO_ERROR, f"cannot write {path}: {e.strerror}", {"path": path})


# ---- the statement ----------------------------------------------------------------------------------------

def total_blocks(program, size):
    return -(-size // program["blockBytes"]) if program["segmented"] else 1


def initial_state(program, size):
    tag = b"pm-py/chain/init" if program["segmented"] else b"pm-py/whole/init"
    return hashlib.sha256(tag + struct.pack(">Q", size)).digest()


def advance(program, state, data, cancel, report=None):
    """The state after absorbing `data` (whole blocks, the last one may be short) from `state`"""
    if not program["segmented"]:
        return hashlib.sha256(state + data).digest()
    size = program["blockBytes"]
    blocks = -(-len(data) // size)
    for b in range(blocks):
        if cancel.is_set():
            raise Cancelled()
        state = hashlib.sha256(state + data[b * size:(b + 1) * size]).digest()
        if report is not None and (b + 1) % 256 == 0:
            report(b + 1, blocks)
    return state


def contribution(program, seg, size, start, end, data):
    h = hashlib.sha256(b"pm-py/contribution/1" + program["id"].encode())
    h.update(struct.pack(">QQQQ", seg["index"], seg["startBlock"], seg["blockCount"], size))
    h.update(start + end + hashlib.sha256(data).digest())
    return h.hexdigest()


def challenge_of(job, contributions):
    h = hashlib.sha256(b"proofmesh/challenge/1")
    job_bytes = job.encode()
    h.update(struct.pack(">I", len(job_bytes)) + job_bytes)
    for c in contributions:
        raw = bytes.fromhex(c)
        h.update(struct.pack(">I", len(raw)) + raw)
    return h.hexdigest()


def start_state(params, program, seg, size, cancel):
    hints = field(params, "hints", "str", optional=True)
    if hints is None:
        if seg["startBlock"] == 0:
            return initial_state(program, size), None
        prefix = read_input(params, 0, seg["inputOffset"])
        return advance(program, initial_state(program, size), prefix, cancel), None
    try:
        with open(hints, "rb") as f:
            doc = json.loads(f.read(MAX_HEADER))
        states = {e["block"]: bytes.fromhex(e["state"]) for e in doc["states"]}
        if doc["inputSize"] != size or doc["program"] != program["id"]:
            raise ValueError("another job")
    except OSError as e:
        raise RpcError(IO_ERROR, f"cannot read {hints}: {e.strerror}", {"path": hints})
    except (ValueError, KeyError, TypeError) as e:
        raise RpcError(INVALID_HINTS, f"the hints file does not fit: {e}")
    if seg["startBlock"] not in states:
        raise RpcError(INVALID_HINTS, f"the hints have no state for block {seg['startBlock']}")
    return states[seg["startBlock"]], states.get(seg["startBlock"] + seg["blockCount"])


def segment_statement(params, program, cancel, report=None):
    size = field(params, "inputSize", "int")
    seg = segment_of(params, program, size)
    start, hinted_end = start_state(params, program, seg, size, cancel)
    data = read_input(params, seg["inputOffset"], seg["inputLength"])
    end = advance(program, start, data, cancel, report)
    if hinted_end is not None and hinted_end != end:
        raise RpcError(INVALID_HINTS, f"segment {seg['index']}'s input does not reach the hinted end state")
    return size, seg, start, end, data


# ---- methods ----------------------------------------------------------------------------------------------

def m_hello(params, cancel):
    # a daemon lists every version it speaks in `versions`; one that predates versions sends only `protocol`
    offered = params.get("versions", [params.get("protocol")])
    if not isinstance(offered, list) or PROTOCOL not in offered:
        raise RpcError(INVALID_PARAMS, f"this prover speaks NPP {PROTOCOL}; the daemon offered {offered!r}")
    return {"name": "proofmesh-python-prover", "version": VERSION, "protocol": PROTOCOL,
            "programs": list(PROGRAMS.values()), "gpus": []}


def layout_of(params, program, size):
    """The daemon's segments, checked: numbered from 0, contiguous, canonical, at most maxSegmentBlocks each,
    covering every block (one segment of 1 block for a segmented: false program)"""
    segments = field(params, "segments", "list")
    if not 1 <= len(segments) <= MAX_SEGMENTS:
        raise RpcError(INVALID_SEGMENT, f"a layout has 1 to {MAX_SEGMENTS} segments, got {len(segments)}")
    block = 0
    for i, seg in enumerate(segments):
        if not isinstance(seg, dict):
            raise RpcError(INVALID_PARAMS, "params.segments: expected objects")
        s = segment_of({"segment": seg}, program, size)
        if s["index"] != i or s["startBlock"] != block:
            raise RpcError(INVALID_SEGMENT, f"segment {i} {s} does not follow the one before (block {block})")
        if s["blockCount"] > program["maxSegmentBlocks"]:
            raise RpcError(INVALID_SEGMENT, f"segment {i} has more than {program['maxSegmentBlocks']} blocks")
        block += s["blockCount"]
    if block != total_blocks(program, size):
        raise RpcError(INVALID_SEGMENT, f"the segments cover {block} blocks of {total_blocks(program, size)}")
    return segments


def request_name(params):
    name = params.get("name")
    return name if isinstance(name, str) else params.get("job")


def m_plan(params, cancel):
    job = field(params, "job", "str")
    program = program_of(params)
    ref = field(params, "input", "dict")
    path = field(ref, "path", "str")
    try:
        size = os.stat(path).st_size
    except OSError as e:
        raise RpcError(IO_ERROR, f"cannot read {path}: {e.strerror}", {"path": path})
    total = total_blocks(program, size)
    segments = layout_of(params, program, size)
    init = initial_state(program, size)
    result = {"program": program["id"], "inputSize": size, "totalBlocks": total, "initialState": init.hex()}
    hints_out = field(params, "hintsOut", "str", optional=True)
    if hints_out is not None:
        data = read_input(params, 0, size)
        states, state = [], init
        for s in segments:
            states.append({"block": s["startBlock"], "state": state.hex()})
            state = advance(program, state, data[s["inputOffset"]:s["inputOffset"] + s["inputLength"]], cancel,
                            lambda done, total_: progress(request_name(params), "plan", None, done, total_))
        states.append({"block": total, "state": state.hex()})
        doc = json.dumps({"format": "proofmesh-py-hints/1", "program": program["id"], "inputSize": size,
                          "totalBlocks": total, "states": states}).encode()
        write_atomic(hints_out, doc, cancel)
        result["hints"] = {"path": hints_out, "size": len(doc)}
        result["digest"] = state.hex()
    return result


def m_contribute(params, cancel):
    field(params, "job", "str")
    program = program_of(params)
    size, seg, start, end, data = segment_statement(params, program, cancel)
    return {"segment": seg["index"], "contribution": contribution(program, seg, size, start, end, data)}


def encode_segment(header, data):
    head = json.dumps(header, separators=(",", ":")).encode()
    return SEGMENT_MAGIC + struct.pack("<I", len(head)) + head + data


def m_prove(params, cancel):
    job = field(params, "job", "str")
    program = program_of(params)
    challenge = hex_field(params, "challenge")
    if len(challenge) != 64:
        raise RpcError(INVALID_PARAMS, "params.challenge: expected 64 hex digits")
    out = field(params, "out", "str")
    began = time.monotonic()
    index = params.get("segment", {}).get("index") if isinstance(params.get("segment"), dict) else None
    size, seg, start, end, data = segment_statement(
        params, program, cancel, lambda done, total: progress(request_name(params), "prove", index, done, total))
    header = {"program": program["id"], "index": seg["index"], "startBlock": seg["startBlock"],
              "blockCount": seg["blockCount"], "inputSize": size, "challenge": challenge,
              "startState": start.hex(), "endState": end.hex(),
              "contribution": contribution(program, seg, size, start, end, data)}
    proof = encode_segment(header, data)
    write_atomic(out, proof, cancel)
    return {"segment": seg["index"], "size": len(proof), "sha256": hashlib.sha256(proof).hexdigest(),
            "millis": round((time.monotonic() - began) * 1000)}


def check_segment(program, blob, i, size, challenge, expected_contribution, block, state, cancel):
    """Checks segment proof i; returns (next block, end state, its input bytes) or raises ValueError(reason)"""
    bb = program["blockBytes"]
    if len(blob) < 12 or blob[:8] != SEGMENT_MAGIC:
        raise ValueError("not a segment proof")
    (hlen,) = struct.unpack("<I", blob[8:12])
    if hlen > MAX_HEADER or 12 + hlen > len(blob):
        raise ValueError("header length out of range")
    try:
        h = json.loads(blob[12:12 + hlen])
        seg = {"index": h["index"], "startBlock": h["startBlock"], "blockCount": h["blockCount"]}
    except (ValueError, KeyError, TypeError):
        raise ValueError("the header does not decode")
    data = blob[12 + hlen:]
    if h.get("program") != program["id"] or h.get("inputSize") != size or h.get("challenge") != challenge:
        raise ValueError("made for another program, input size or challenge")
    if seg["index"] != i:
        raise ValueError(f"a proof of segment {seg['index']}")
    if seg["startBlock"] != block:
        raise ValueError(f"starts at block {seg['startBlock']}, the previous segment ended at {block}")
    offset = bb * block if program["segmented"] else 0
    length = max(0, min(bb * seg["blockCount"], size - offset)) if program["segmented"] else size
    if len(data) != length:
        raise ValueError(f"carries {len(data)} input bytes, the segment has {length}")
    if h.get("startState") != state.hex():
        raise ValueError("does not start where the previous segment ended")
    end = advance(program, state, data, cancel)
    if h.get("endState") != end.hex():
        raise ValueError("its input does not lead to its end state")
    c = contribution(program, {**seg}, size, state, end, data)
    if h.get("contribution") != c or c != expected_contribution:
        raise ValueError("does not match its contribution")
    return block + seg["blockCount"], end, data


def m_aggregate(params, cancel):
    job = field(params, "job", "str")
    program = program_of(params)
    size = field(params, "inputSize", "int")
    challenge = hex_field(params, "challenge")
    contributions = [c.lower() for c in field(params, "contributions", "list") if isinstance(c, str)]
    proofs = field(params, "proofs", "list")
    out = field(params, "out", "str")
    if not contributions or len(contributions) != len(proofs) or len(proofs) > MAX_SEGMENTS:
        raise RpcError(INVALID_PARAMS, "contributions and proofs must be 1 to 16384 of each, as many of both")
    if challenge_of(job, contributions) != challenge:
        raise RpcError(INVALID_PARAMS, "the challenge is not the formula over job and contributions")
    cap = 12 + MAX_HEADER + program["blockBytes"] * program["maxSegmentBlocks"]
    block, state, blobs = 0, initial_state(program, size), []
    for i, path in enumerate(proofs):
        blob = read_file(path, cap)
        try:
            if len(blob) > cap:
                raise ValueError("over the size cap")
            block, state, _ = check_segment(program, blob, i, size, challenge, contributions[i], block, state, cancel)
        except ValueError as e:
            raise RpcError(PROOF_INVALID, f"segment {i}: {e}", {"segment": i, "reason": str(e)})
        blobs.append(blob)
        progress(request_name(params), "aggregate", None, i + 1, len(proofs))
    if block != total_blocks(program, size):
        last = len(proofs) - 1
        raise RpcError(PROOF_INVALID, "the segments do not cover the input", {"segment": last, "reason": "gap at end"})
    header = json.dumps({"program": program["id"], "job": job, "inputSize": size, "challenge": challenge,
                         "contributions": contributions, "digest": state.hex(), "segments": len(blobs)},
                        separators=(",", ":")).encode()
    bundle = BUNDLE_MAGIC + struct.pack("<I", len(header)) + header
    bundle += b"".join(struct.pack("<I", len(b)) + b for b in blobs)
    write_atomic(out, bundle, cancel)
    return {"digest": state.hex(), "size": len(bundle), "sha256": hashlib.sha256(bundle).hexdigest(),
            "segments": len(blobs)}


def verify_bundle(program, blob, cancel):
    """(digest, inputSize, job, segments, input bytes) of a valid final proof, or raises ValueError(reason)"""
    if len(blob) < 12 or blob[:8] != BUNDLE_MAGIC:
        raise ValueError("not a final proof (bad magic)")
    (hlen,) = struct.unpack("<I", blob[8:12])
    if hlen > 64 * MAX_HEADER or 12 + hlen > len(blob):
        raise ValueError("header length out of range")
    try:
        h = json.loads(blob[12:12 + hlen])
        job, size, count, contributions = h["job"], h["inputSize"], h["segments"], h["contributions"]
        if h["program"] != program["id"] or not isinstance(size, int) or len(contributions) != count:
            raise ValueError()
        challenge = challenge_of(job, contributions)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ValueError("the header does not decode")
    if h.get("challenge") != challenge or not 1 <= count <= MAX_SEGMENTS:
        raise ValueError("the challenge is not the one the contributions give")
    at, block, state, pieces = 12 + hlen, 0, initial_state(program, size), []
    for i in range(count):
        if at + 4 > len(blob):
            raise ValueError(f"segment {i} is missing")
        (n,) = struct.unpack("<I", blob[at:at + 4])
        seg_blob = blob[at + 4:at + 4 + n]
        if len(seg_blob) != n:
            raise ValueError(f"segment {i} is cut short")
        try:
            block, state, data = check_segment(program, seg_blob, i, size, challenge, contributions[i], block, state,
                                               cancel)
        except ValueError as e:
            raise ValueError(f"segment {i}: {e}")
        pieces.append(data)
        at += 4 + n
    if at != len(blob) or block != total_blocks(program, size) or h.get("digest") != state.hex():
        raise ValueError("the segments do not cover the input or the digest is not theirs")
    return state.hex(), size, job, count, b"".join(pieces)


def m_verify(params, cancel):
    program = program_of(params)
    path = field(params, "proof", "str")
    digest = hex_field(params, "digest", optional=True)
    job = field(params, "job", "str", optional=True)
    input_path = field(params, "input", "str", optional=True)
    blob = read_file(path)
    expected_input = read_file(input_path) if input_path is not None else None
    try:
        got_digest, size, got_job, count, data = verify_bundle(program, blob, cancel)
        if digest is not None and digest != got_digest:
            raise ValueError("the proof is about another digest")
        if job is not None and job != got_job:
            raise ValueError(f"the proof was made for job '{got_job}'")
        if expected_input is not None and expected_input != data:
            raise ValueError("the proof is about another input")
    except ValueError as e:
        return {"valid": False, "reason": str(e)}
    return {"valid": True, "digest": got_digest, "inputSize": size, "job": got_job, "segments": count}


# ---- the serve loop ---------------------------------------------------------------------------------------

WORK = {"plan": m_plan, "contribute": m_contribute, "prove": m_prove, "aggregate": m_aggregate, "verify": m_verify}
running = {}  # id -> (name, else job; cancel event, thread)
running_lock = threading.Lock()


def answer(rid, fn, params, cancel):
    try:
        send({"id": rid, "result": fn(params, cancel)})
    except Cancelled:
        send({"id": rid, "error": {"code": CANCELLED, "message": "cancelled"}})
    except RpcError as e:
        error = {"code": e.code, "message": e.message}
        if e.data is not None:
            error["data"] = e.data
        send({"id": rid, "error": error})
    except Exception as e:  # a bug here: answer it and keep serving
        send({"id": rid, "error": {"code": INTERNAL_ERROR, "message": f"internal error: {e!r}"}})
    finally:
        with running_lock:
            running.pop(rid, None)


def cancel_job(job):
    with running_lock:
        hits = [entry for entry in running.values() if entry[0] == job]
    for _, event, _ in hits:
        event.set()
    return hits


def stop_all():
    with running_lock:
        entries = list(running.values())
    for _, event, _ in entries:
        event.set()
    for _, _, thread in entries:
        thread.join(timeout=1.0)


def handle(line):
    try:
        msg = json.loads(line)
    except ValueError as e:
        send({"id": None, "error": {"code": PARSE_ERROR, "message": f"parse error: {e}"}})
        return True
    rid = msg.get("id") if isinstance(msg, dict) else None
    rid_ok = isinstance(rid, (int, str)) and not isinstance(rid, bool)
    if (not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0" or not isinstance(msg.get("method"), str)
            or ("id" in msg and not rid_ok) or not isinstance(msg.get("params", {}), (dict, list))):
        send({"id": rid if rid_ok else None, "error": {"code": INVALID_REQUEST, "message": "not a JSON-RPC 2.0 request"}})
        return True
    if "id" not in msg:
        return True  # a notification from the daemon: no answer
    method, params = msg["method"], msg.get("params", {})
    if not isinstance(params, dict):
        send({"id": rid, "error": {"code": INVALID_PARAMS, "message": "params must be an object"}})
        return True
    if method == "shutdown":
        stop_all()
        send({"id": rid, "result": {}})
        return False
    if method == "ping":
        send({"id": rid, "result": {}})
    elif method == "hello":
        answer(rid, m_hello, params, threading.Event())
    elif method == "cancel":
        job = params.get("job")
        if not isinstance(job, str):
            send({"id": rid, "error": {"code": INVALID_PARAMS, "message": "params.job: expected str"}})
        else:
            send({"id": rid, "result": {"cancelled": len(cancel_job(job))}})
    elif method in WORK:
        # NPP v2: a request's `name`, else its `job`, is what cancel and progress know it by
        if "name" in params and not isinstance(params["name"], str):
            send({"id": rid, "error": {"code": INVALID_PARAMS, "message": "params.name: expected str"}})
            return True
        name = request_name(params)
        job = name if isinstance(name, str) else ""
        event = threading.Event()
        thread = threading.Thread(target=answer, args=(rid, WORK[method], params, event), daemon=True)
        with running_lock:
            running[rid] = (job, event, thread)
        thread.start()
    else:
        send({"id": rid, "error": {"code": METHOD_NOT_FOUND, "message": f"unknown method '{method}'"}})
    return True


def main():
    for line in sys.stdin:
        if line.strip() and not handle(line):
            break
    else:
        stop_all()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
