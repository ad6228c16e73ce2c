"""Tests of kiln-sums; run against the installed wheel by `cargo xtask ci`."""

import hashlib
import os
import tempfile
import unittest

import kiln_sums
from kiln_sums.__main__ import main


class SumsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.root = self.dir.name
        for name, data in {"a.txt": b"alpha\n", "b.bin": bytes(range(256))}.items():
            with open(os.path.join(self.root, name), "wb") as f:
                f.write(data)

    def tearDown(self):
        self.dir.cleanup()

    def test_digest_matches_hashlib(self):
        path = os.path.join(self.root, "b.bin")
        self.assertEqual(kiln_sums.digest_file(path), hashlib.sha256(bytes(range(256))).hexdigest())

    def test_render_is_sorted_sha256sum_format(self):
        text = kiln_sums.render([kiln_sums.Entry("b" * 64, "z"), kiln_sums.Entry("a" * 64, "y")])
        self.assertEqual(text, "a" * 64 + "  y\n" + "b" * 64 + "  z\n")

    def test_parse_accepts_binary_marker_and_rejects_garbage(self):
        self.assertEqual(list(kiln_sums.parse("c" * 64 + " *f.whl\n"))[0].name, "f.whl")
        with self.assertRaises(ValueError):
            list(kiln_sums.parse("not a line\n"))

    def test_check_reports_ok_failed_missing(self):
        entries = [kiln_sums.Entry(kiln_sums.digest_file(os.path.join(self.root, "a.txt")), "a.txt"),
                   kiln_sums.Entry("0" * 64, "b.bin"), kiln_sums.Entry("1" * 64, "gone")]
        results = {r.name: r.status for r in kiln_sums.check(kiln_sums.render(entries), self.root)}
        self.assertEqual(results, {"a.txt": "OK", "b.bin": "FAILED", "gone": "MISSING"})

    def test_cli_round_trip(self):
        files = [os.path.join(self.root, n) for n in ("a.txt", "b.bin")]
        sums = os.path.join(self.root, "SHA256SUMS")
        import contextlib, io
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(main(["write", *files]), 0)
        with open(sums, "w") as f:
            f.write(out.getvalue())
        with contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(main(["check", sums]), 0)
        with open(files[0], "ab") as f:
            f.write(b"tampered")
        with contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(main(["check", sums]), 1)


if __name__ == "__main__":
    unittest.main()
