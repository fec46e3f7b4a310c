"""Untrusted data files: every malformed, huge, special or hostile file gives a clear
one-line `DataError` naming the file or the bad value, and never runs code, hangs or
allocates all the memory."""

import builtins
import codecs
import gzip
import io
import os
import pickle
import struct
import subprocess
import threading
import zipfile

import numpy as np
import pytest
from PIL import Image

import gandyn as gd
from gandyn.data import DataError
from gandyn.data import _untrusted


def write_idx(path, array, *, compress=False):
    codes = {np.uint8: 0x08, np.int32: 0x0C, np.float32: 0x0D}
    header = bytes([0, 0, codes[array.dtype.type], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    body = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(body)


def write_batch(path, data, labels, *, protocol=pickle.DEFAULT_PROTOCOL, key=b"labels"):
    path.write_bytes(pickle.dumps({b"data": data, key: labels, b"batch_label": b"training batch 1 of 5"},
                                  protocol=protocol))


def one_line(error) -> str:
    message = str(error.value)
    assert "\n" not in message, message
    return message


# ------------------------------------------------------------ 1. pickles run nothing

class Payload:
    """A pickle that, loaded by plain `pickle.load`, calls `call(*args)`."""

    def __init__(self, call, args):
        self.call, self.args = call, args

    def __reduce__(self):
        return self.call, self.args


@pytest.mark.parametrize(
    "make, refused",
    [
        (lambda marker: (os.system, (f"touch {marker}",)), r"'(os|posix|nt)\.system'"),
        (lambda marker: (builtins.exec, (f"open({str(marker)!r}, 'w').close()",)), r"'builtins\.exec'"),
        (lambda marker: (builtins.eval, (f"open({str(marker)!r}, 'w').close()",)), r"'builtins\.eval'"),
        (lambda marker: (subprocess.Popen, (["touch", str(marker)],)), r"'subprocess\.Popen'"),
    ],
    ids=["os.system", "exec", "eval", "Popen"],
)
@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_a_malicious_cifar_pickle_is_refused_and_runs_nothing(tmp_path, make, refused, protocol):
    marker = tmp_path / "MARKER"
    path = tmp_path / "data_batch_1"
    evil = Payload(*make(marker))
    batch = {b"data": np.zeros((1, 3072), np.uint8), b"labels": [evil]}
    path.write_bytes(pickle.dumps(batch, protocol=protocol))
    for load in (gd.data.load_cifar, gd.data.load):
        with pytest.raises(DataError, match=f"data_batch_1.*refuses to load {refused} from a pickle") as info:
            load(str(path) if load is gd.data.load else path)
        one_line(info)
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload, refused",
    [
        (Payload(bytes, (10**13,)), r"bytes\(\) of arguments"),  # 10 TB if it were built
        (Payload(codecs.encode, ("x", "rot13")), "_codecs.encode of str to 'rot13'"),
        (np.array([None, "x"], object), "an array of dtype object"),
        (Payload(getattr, ("text", "upper")), r"'builtins\.getattr'"),
    ],
    ids=["bytes-of-size", "codec", "object-array", "getattr"],
)
def test_a_pickle_builds_only_plain_data(tmp_path, payload, refused):
    path = tmp_path / "test_batch"
    path.write_bytes(pickle.dumps({b"data": payload, b"labels": [0]}, protocol=2))
    with pytest.raises(DataError, match=f"test_batch.*refuses to load {refused}") as info:
        gd.data.load(str(path))
    one_line(info)


def test_a_pickle_cannot_multiply_its_size_in_memory(tmp_path, monkeypatch):
    """Each reference to one memoised string re-encodes it: 100 × 64 KiB from a
    file of 64 KiB is refused once the bytes built pass the cap."""
    monkeypatch.setattr(_untrusted, "MAX_BYTES", 2**20)
    text, encoding = "x" * 2**16, "latin1"
    copies = [Payload(codecs.encode, (text, encoding)) for _ in range(100)]
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": copies, b"labels": []}, protocol=2))
    assert path.stat().st_size < 2**17
    with pytest.raises(DataError, match="refuses to load more than 1 MiB of arrays"):
        gd.data.load_cifar(path)


@pytest.mark.parametrize(
    "content, message",
    [
        # 11 bytes that make CPython's unpickler allocate (and zero) a 32 GiB memo table.
        (b"\x80\x02N" + b"r" + struct.pack("<I", 2**31) + b".",
         r"refuses to load a memo index of 2147483648 \(after 3 opcodes\) from a pickle"),
        (b"\x80\x04\x8e" + struct.pack("<Q", 2**50) + b"abc.", "is not a CIFAR-10 python batch .*: ValueError"),
        (b"\x80\x02" + b"]" * 20_000 + b".", "refuses to load more than 1 MiB of Python objects"),
    ],
    ids=["memo-index", "declared-length", "many-objects"],
)
def test_a_pickle_whose_opcodes_would_fill_memory_is_refused_before_unpickling(
        tmp_path, monkeypatch, content, message):
    monkeypatch.setattr(_untrusted, "MAX_BYTES", 2**20)
    path = tmp_path / "data_batch_1"
    path.write_bytes(content)
    with pytest.raises(DataError, match=f"data_batch_1' .*{message}") as info:
        gd.data.load_cifar(path)
    one_line(info)


def test_a_cifar_file_over_the_size_cap_is_refused_unread(tmp_path, monkeypatch):
    path = tmp_path / "data_batch_1"
    write_batch(path, np.zeros((2, 3072), np.uint8), [0, 1])
    monkeypatch.setattr(_untrusted, "MAX_PICKLE_BYTES", 1000)
    with pytest.raises(DataError, match=r"data_batch_1' is 6[.\d]* KiB, over gandyn's cap of 1000 bytes"):
        gd.data.load_cifar(path)


# ------------------------------------------------------- 2. special files and sizes

def load_in_thread(call, timeout=20.0):
    """`call()`'s exception (or None), failing if it does not return in `timeout` s."""
    outcome = {}

    def run():
        try:
            call()
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            outcome["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    return thread.is_alive(), outcome.get("error")


def unblock(fifo):
    """Open `fifo` for writing and close it, so a reader blocked in `open` sees EOF."""
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize(
    "name, call",
    [
        ("train-images-idx3-ubyte", lambda p: gd.data.load(str(p))),
        ("train-images-idx3-ubyte", gd.data.read_idx),
        ("data_batch_1", gd.data.load_cifar),
        ("set.npz", gd.data.load_npz),
        ("set.npz", lambda p: gd.data.load(str(p))),
        ("folder/a.png", lambda p: gd.data.load_png_folder(p.parent)),
        ("folder/data_batch_1", lambda p: gd.data.load(str(p.parent))),
    ],
)
def test_a_fifo_is_refused_without_being_opened(tmp_path, name, call):
    fifo = tmp_path / name
    fifo.parent.mkdir(exist_ok=True)
    os.mkfifo(fifo)
    hung, error = load_in_thread(lambda: call(fifo))
    if hung:
        unblock(fifo)
    assert not hung, f"loading {name} blocked on the FIFO"
    assert isinstance(error, DataError), repr(error)
    assert f"{fifo.name}' is not a regular file (a FIFO)" in str(error)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.parametrize("call", [gd.data.load, gd.data.read_idx, gd.data.load_cifar, gd.data.load_npz])
def test_a_device_is_refused(call):
    hung, error = load_in_thread(lambda: call("/dev/zero"))
    assert not hung and isinstance(error, DataError), repr(error)
    assert "'/dev/zero' is not a regular file (a character device)" in str(error)


def test_a_directory_where_a_file_is_expected(tmp_path):
    with pytest.raises(DataError, match=r"is not a regular file \(a directory\); expected an IDX file"):
        gd.data.read_idx(tmp_path)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x00\x00\x08\x03" + struct.pack(">3I", 60_000, 2**16, 2**16),
         r"header says shape \(60000, 65536, 65536\), 234 TiB of data, over gandyn's cap of 2 GiB per file"),
        (b"\x00\x00\x08\xc8" + b"\x00" * 800, r"header says 200 dimensions \(at most 16\)"),
        (b"\x00\x00\x08\x03" + struct.pack(">3I", 1, 8, 8) + b"\x00" * (20 * 2**20),  # a gzip bomb
         r"header says shape \(1, 8, 8\), but the file holds more than its 64 bytes of data"),
    ],
    ids=["huge-header", "many-dimensions", "bomb"],
)
def test_an_idx_file_is_read_no_further_than_its_header_and_the_cap(tmp_path, content, message):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(content)
    with pytest.raises(DataError, match=message) as info:
        gd.data.load(str(path))
    assert "train-images-idx3-ubyte.gz" in one_line(info)


def test_an_idx_file_over_the_cap_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    write_idx(path, np.zeros((65, 128, 128), np.uint8), compress=True)
    monkeypatch.setattr(_untrusted, "MAX_BYTES", 2**20)
    message = r"shape \(65, 128, 128\), 1.02 MiB of data, over gandyn's cap of 1 MiB"
    with pytest.raises(DataError, match=message):
        gd.data.load_idx(path)


@pytest.mark.parametrize("damage", ["truncate", "corrupt", "trailer"])
def test_a_damaged_gzip_is_a_data_error(tmp_path, damage):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    write_idx(path, np.random.default_rng(0).integers(0, 256, (20, 8, 8), dtype=np.uint8), compress=True)
    content = bytearray(path.read_bytes())
    if damage == "truncate":
        content = content[: len(content) // 2]
    elif damage == "corrupt":
        content[len(content) // 2 : len(content) // 2 + 20] = b"\xff" * 20
    else:
        content[-6] ^= 0xFF  # the CRC
    path.write_bytes(bytes(content))
    message = "train-images-idx3-ubyte.gz' (cannot be read as|is not) an IDX file"
    with pytest.raises(DataError, match=message) as info:
        gd.data.load_idx(path)
    one_line(info)


# ---------------------------------------------------------------- 3. empty names

@pytest.mark.parametrize(
    "source, message",
    [
        ("", r"no data given \(an empty name ''\); expected .* or one of: digits, stacked-digits"),
        ("   ", r"no data given \(an empty name '   '\)"),
        ("\t\n", r"no data given"),
        ("bad\x00name", r"'bad\\x00name' cannot be read \(embedded null byte\)"),
        (3, "data must be a name or a path, got int"),
    ],
)
def test_an_empty_or_invalid_source_is_refused(source, message):
    with pytest.raises(DataError, match=message) as info:
        gd.data.load(source)
    one_line(info)


def test_the_cli_refuses_an_empty_data_name(tmp_path):
    from typer.testing import CliRunner

    from gandyn.cli import app

    result = CliRunner().invoke(app, ["train", "--data", "", "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith("Error:") and "empty" in result.output, result.output


# ---------------------------------------------------------------- 4. zero images

def test_sets_of_no_images_are_refused(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((0, 8, 8), np.uint8))
    np.savez(tmp_path / "none.npz", images=np.zeros((0, 8, 8, 3), np.uint8))
    np.savez(tmp_path / "flat.npz", images=np.zeros((0, 8, 8), np.float32))
    np.savez(tmp_path / "empty.npz", images=np.zeros((5, 0, 8), np.uint8))
    write_batch(tmp_path / "test_batch", np.zeros((0, 3072), np.uint8), [])
    (tmp_path / "pictures").mkdir()
    cases = [
        ("train-images-idx3-ubyte", r"holds no images \(shape \(0, 8, 8\)\)"),
        ("none.npz", r"'images' holds no images \(shape \(0, 8, 8, 3\)\)"),
        ("flat.npz", r"'images' holds no images"),
        ("empty.npz", r"'images' holds empty images \(shape \(5, 0, 8\)\)"),
        ("test_batch", r"holds no images \(shape \(0, 3072\)\)"),
        ("pictures", r"holds no images \(no .png files\)"),
    ]
    for name, message in cases:
        with pytest.raises(DataError, match=message) as info:
            gd.data.load(str(tmp_path / name))
        assert f"{name}'" in one_line(info)


# ---------------------------------------------------------------- 5. .npz content

@pytest.mark.parametrize(
    "images, message",
    [
        (np.full((2, 8, 8), "a"), "has dtype <U1"),
        (np.full((2, 8, 8), b"a"), r"has dtype \|S1"),
        (np.array([[[None]]], object), "has dtype object"),
        (np.ones((2, 8, 8), bool), "has dtype bool"),
        (np.ones((2, 8, 8), complex), "has dtype complex128"),
        (np.ones((2, 8, 8), "datetime64[s]"), r"has dtype datetime64\[s\]"),
        (np.where(np.eye(8) > 0, np.nan, 0.5)[None], "holds NaN"),
        (np.where(np.eye(8) > 0, np.inf, 0.5)[None], "holds infinite values"),
        (np.linspace(-0.5, 1, 64).reshape(1, 8, 8), "has values -0.5..1"),
        (np.linspace(0, 300, 64).reshape(1, 8, 8), "has values 0..300"),
        (np.arange(-1, 63, dtype=np.int16).reshape(1, 8, 8), "has values -1..62"),
        (np.arange(64, dtype=np.int32).reshape(1, 8, 8) * 5, "has values 0..315"),
    ],
)
def test_npz_images_must_be_pixels(tmp_path, images, message):
    np.savez(tmp_path / "set.npz", images=images)
    with pytest.raises(DataError, match=rf"set.npz': 'images' {message}") as info:
        gd.data.load(str(tmp_path / "set.npz"))
    assert "images must be integers 0–255 or floats in [0, 1] or [0, 255]" in one_line(info)


def write_npz_member(path, name, header, data=b"", images=None):
    """An .npz whose member `name` has a hand-written `.npy` header (and, given
    `images`, a true `images.npy` too)."""
    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(member, header)
    with zipfile.ZipFile(path, "w") as archive:
        if images is not None:
            archive.writestr("images.npy", _npy(images))
        archive.writestr(name, member.getvalue() + data)


def test_npz_arrays_are_checked_from_their_headers(tmp_path, monkeypatch):
    huge = {"descr": "<f8", "fortran_order": False, "shape": (2**20, 2**20, 3)}
    write_npz_member(tmp_path / "huge.npz", "images.npy", huge)
    with pytest.raises(DataError, match=r"huge.npz': 'images' has shape \(1048576, 1048576, 3\), 24 TiB, "
                                        r"over gandyn's cap of 2 GiB per array"):
        gd.data.load(str(tmp_path / "huge.npz"))

    short = {"descr": "|u1", "fortran_order": False, "shape": (10, 8, 8)}
    write_npz_member(tmp_path / "short.npz", "images.npy", short, b"\x00" * 100)
    with pytest.raises(DataError, match="short.npz' is not an .npz with an 'images' .*: ValueError: EOF"):
        gd.data.load(str(tmp_path / "short.npz"))

    labels = {"descr": "<i8", "fortran_order": False, "shape": (2**40,)}
    write_npz_member(tmp_path / "labels.npz", "labels.npy", labels, images=np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(DataError, match=r"'labels' has shape \(1099511627776,\), 8 TiB, over gandyn's cap"):
        gd.data.load(str(tmp_path / "labels.npz"))

    (tmp_path / "raw.npz").write_bytes(_npy(np.zeros((2, 8, 8), np.uint8)))  # an .npy, not a zip
    with pytest.raises(DataError, match="raw.npz' is not an .npz .*BadZipFile"):
        gd.data.load(str(tmp_path / "raw.npz"))

    np.savez_compressed(tmp_path / "big.npz", images=np.zeros((64, 64, 64), np.uint8))
    monkeypatch.setattr(_untrusted, "MAX_BYTES", 2**16)
    message = r"'images' has shape \(64, 64, 64\), 256 KiB, over gandyn's cap of 64 KiB"
    with pytest.raises(DataError, match=message):
        gd.data.load_npz(tmp_path / "big.npz")


def test_images_over_the_memory_budget_are_refused_from_their_header(tmp_path, monkeypatch):
    """1.98 GB of uint8 images (under the 2 GiB cap per file) become 7.9 GB of float32
    images: refused from the header alone, before a byte of pixels is read, with
    what they need."""
    monkeypatch.setenv("GANDYN_MEMORY_LIMIT", "4G")
    declared = {"descr": "|u1", "fortran_order": False, "shape": (71_600, 3, 96, 96)}  # 1.98 GB
    write_npz_member(tmp_path / "big.npz", "images.npy", declared, b"\x00" * 1000)
    assert (tmp_path / "big.npz").stat().st_size < 2**12
    for path in (tmp_path / "big.npz", str(tmp_path / "big.npz")):
        with pytest.raises(DataError, match=r"big.npz': 'images' \(shape \(71600, 3, 96, 96\)\) needs "
                                            r"about 9.22 GiB of memory \(float32 images 7.37 GiB, pixels "
                                            r"read 1.84 GiB\), more than the 4 GiB allowed") as info:
            (gd.data.load_npz if isinstance(path, os.PathLike) else gd.data.load)(path)
        one_line(info)
    monkeypatch.setenv("GANDYN_MEMORY_LIMIT", "64G")  # within the budget: then read, and short
    with pytest.raises(DataError, match="big.npz' is not an .npz"):
        gd.data.load_npz(tmp_path / "big.npz")


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


# ---------------------------------------------------------------------- 6. labels

RULE = "labels must be integers 0..65535"


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.array([0, -1]), "label -1 out of range"),
        (np.array([0, 2_000_000_000]), "label 2000000000 out of range"),
        (np.array([0.0, 2e9]), "label 2000000000 out of range"),
        (np.array([0, 65_536]), "label 65536 out of range"),
        (np.array([0.0, np.nan]), "holds label NaN"),
        (np.array([0.0, np.inf]), "label inf out of range"),
        (np.array([0.0, 1.5]), r"holds label 1.5, not an integer"),
        (np.array(["cat", "dog"]), "has dtype <U3"),
        (np.array([True, False]), "has dtype bool"),
    ],
)
def test_npz_labels_must_be_class_indices(tmp_path, labels, message):
    np.savez(tmp_path / "set.npz", images=np.zeros((2, 8, 8), np.uint8), labels=labels)
    with pytest.raises(DataError, match=f"set.npz': 'labels'.*{message}") as info:
        gd.data.load(str(tmp_path / "set.npz"))
    assert one_line(info).endswith(RULE)


def test_idx_and_cifar_labels_must_be_class_indices(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 8, 8), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.array([1, 2_000_000_000], np.int32))
    with pytest.raises(DataError, match=f"train-labels-idx1-ubyte': label 2000000000 out of range; {RULE}"):
        gd.data.load(str(tmp_path / "train-images-idx3-ubyte"))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.array([1, 0.5], np.float32))
    with pytest.raises(DataError, match="train-labels-idx1-ubyte' holds label 0.5, not an integer"):
        gd.data.load(str(tmp_path / "train-images-idx3-ubyte"))

    data = np.zeros((2, 3072), np.uint8)
    for labels, message in [([0, -3], "label -3 out of range"), ([0, 2**70], "has dtype object"),
                            ([0, "cat"], "has dtype <U"), ([[0], [1, 2]], "is not an array: ValueError")]:
        write_batch(tmp_path / "data_batch_1", data, labels, protocol=2)
        with pytest.raises(DataError, match=f"data_batch_1': 'labels'.*{message}") as info:
            gd.data.load(str(tmp_path))
        one_line(info)


# ----------------------------------------------------------------- 7. PNG folders

def test_png_shape_mismatch_names_channels(tmp_path):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8), "RGB").save(tmp_path / "a0.png")
    Image.fromarray(np.zeros((8, 8), np.uint8), "L").save(tmp_path / "z.png")
    message = r"z.png' is 8×8 with 1 channel, but '.*a0.png' is 8×8 with 3 channels"
    with pytest.raises(DataError, match=message) as info:
        gd.data.load(str(tmp_path))
    one_line(info)


def test_png_junk_and_huge_headers_are_refused_before_decoding(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((8, 8), np.uint8), "L").save(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"GIF89a not a png at all")
    with pytest.raises(DataError, match="b.png' is not a readable PNG"):
        gd.data.load(str(tmp_path))
    # A header claiming 100,000 × 100,000 pixels (160 GB as float32) and nothing else.
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", 100_000, 100_000)
    (tmp_path / "b.png").write_bytes(header + b"\x08\x00\x00\x00\x00")
    with pytest.raises(DataError, match=r"b.png' is 100000×100000: the PNGs in .* would take more than "
                                        r"gandyn's cap of 2 GiB"):
        gd.data.load(str(tmp_path))
    (tmp_path / "b.png").unlink()
    for i in range(5):
        Image.fromarray(np.zeros((32, 32), np.uint8), "L").save(tmp_path / f"c{i}.png")
    Image.fromarray(np.zeros((32, 32), np.uint8), "L").save(tmp_path / "a.png")
    # Room for a, c0, c1, c2 (4 KiB each as grey float32) and not for c3's 16 KiB worst case.
    monkeypatch.setattr(_untrusted, "MAX_BYTES", 30_000)
    with pytest.raises(DataError, match="c3.png' is 32×32: the PNGs in .* would take more than"):
        gd.data.load(str(tmp_path))


# ------------------------------------------------------------ normal files still load

@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_cifar_batches_of_every_protocol_load(tmp_path, protocol):
    data = np.random.default_rng(protocol).integers(0, 256, (4, 3072), dtype=np.uint8)
    write_batch(tmp_path / "data_batch_1", data, [3, 1, 4, 1], protocol=protocol)
    write_batch(tmp_path / "data_batch_2", data[:2], np.array([9, 2]), protocol=protocol)
    write_batch(tmp_path / "data_batch_3", data[:2], [np.int64(5), np.int64(0)], protocol=protocol)
    images = gd.data.load(str(tmp_path))
    assert images.images.shape == (8, 3, 32, 32) and images.classes == 10
    np.testing.assert_array_equal(np.asarray(images.labels), [3, 1, 4, 1, 9, 2, 5, 0])
    np.testing.assert_allclose(np.asarray(images.images[:4]).reshape(4, -1), data / 255 * 2 - 1, atol=1e-6)


def test_cifar_batches_pickled_by_numpy_1_and_cifar_100_load(tmp_path):
    """Numpy 1 names its helpers `numpy.core.…` (numpy 2: `numpy._core.…`); Python 2
    pickles use protocol 2 and `GLOBAL` opcodes, which name them as text."""
    data = np.random.default_rng(7).integers(0, 256, (3, 3072), dtype=np.uint8)
    content = pickle.dumps({b"data": data, b"fine_labels": [7, 0, 99], b"coarse_labels": [1, 0, 19],
                            b"filenames": [b"a.png", b"b.png", b"c.png"]}, protocol=2)
    old = content.replace(b"numpy._core.", b"numpy.core.")
    assert b"numpy.core.multiarray\n_reconstruct" in old
    (tmp_path / "train").write_bytes(old)
    images = gd.data.load_cifar(tmp_path / "train")
    np.testing.assert_array_equal(np.asarray(images.labels), [7, 0, 99])
    np.testing.assert_allclose(np.asarray(images.images).reshape(3, -1), data / 255 * 2 - 1, atol=1e-6)


@pytest.mark.parametrize(
    "images, maximum",
    [
        (np.random.default_rng(0).integers(0, 256, (5, 8, 8, 3), dtype=np.uint8), 255),
        (np.random.default_rng(1).uniform(0, 1, (5, 8, 8)).astype(np.float32), 1),
        (np.random.default_rng(2).uniform(0, 255, (5, 3, 8, 8)), 255),
    ],
    ids=["uint8", "float-0-1", "float-0-255"],
)
def test_normal_npz_files_load(tmp_path, images, maximum):
    np.savez_compressed(tmp_path / "set.npz", images=images, labels=np.array([0.0, 1, 2, 1, 0]))
    data = gd.data.load(str(tmp_path / "set.npz"))
    assert data.classes == 3 and data.images.shape[0] == 5
    channels_last = images.ndim == 4 and images.shape[-1] == 3
    expected = (images.transpose(0, 3, 1, 2) if channels_last else images).reshape(5, -1)
    np.testing.assert_allclose(np.asarray(data.images).reshape(5, -1), expected / maximum * 2 - 1, atol=1e-5)


def test_normal_idx_files_load(tmp_path):
    images = np.random.default_rng(3).integers(0, 256, (6, 8, 12), dtype=np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, compress=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([0, 1, 2, 3, 4, 9], np.uint8), compress=True)
    data = gd.data.load(str(tmp_path / "train-images-idx3-ubyte.gz"))
    assert data.classes == 10
    np.testing.assert_allclose(np.asarray(data.images[:, 0]), images / 255 * 2 - 1, atol=1e-6)
    floats = np.random.default_rng(4).uniform(0, 1, (3, 4, 4)).astype(np.float32)
    write_idx(tmp_path / "floats-idx3", floats)
    np.testing.assert_allclose(np.asarray(gd.data.load_idx(tmp_path / "floats-idx3").images[:, 0]),
                               floats * 2 - 1, atol=1e-6)


def test_compiled_programs_are_released_near_the_memory_map_limit(monkeypatch):
    """A process past Linux's memory-map limit crashes inside XLA's compiler (the suite's
    ~20k programs did): long jobs drop the compiled programs at half the limit."""
    import jax
    import jax.numpy as jnp

    from gandyn import _budget

    held, allowed = _budget._memory_maps()  # this process, on Linux
    assert 0 < held < allowed
    square = jax.jit(lambda x: x * x)
    square(jnp.ones(3))
    assert square._cache_size() == 1
    monkeypatch.setattr(_budget, "_memory_maps", lambda: (30_000, 65_530))
    assert not _budget.release_compiled_programs() and square._cache_size() == 1
    monkeypatch.setattr(_budget, "_memory_maps", lambda: (40_000, 65_530))
    assert _budget.release_compiled_programs() and square._cache_size() == 0
