"""python-tuf's ngclient.Updater against a kiln TUF mirror.

Usage: client.py BASE_URL STATE_DIR TRUSTED_ROOT TARGET|- OUT_DIR

Trusts TRUSTED_ROOT on first use (STATE_DIR/root.json afterwards),
refreshes, and downloads TARGET (a path relative to the mirror) unless it
is "-". Prints "ok" and exits 0, or prints "refused: <exception class>:
<message>" and exits 1 when the client refuses the repository.
"""

import os
import shutil
import sys

from tuf.api import exceptions
from tuf.ngclient import Updater, UpdaterConfig


def main() -> int:
    base, state, root, target, out = sys.argv[1:6]
    os.makedirs(state, exist_ok=True)
    os.makedirs(out, exist_ok=True)
    if not os.path.exists(os.path.join(state, "root.json")):
        shutil.copy(root, os.path.join(state, "root.json"))
    updater = Updater(
        metadata_dir=state,
        metadata_base_url=base + "/metadata/",
        target_dir=out,
        target_base_url=base + "/",
        # The mirror serves targets at their own paths (DIR served as is);
        # metadata is consistent-snapshot (N.role.json).
        config=UpdaterConfig(prefix_targets_with_hash=False),
        # The root trusted last run (or TRUSTED_ROOT, copied above).
        bootstrap=None,
    )
    try:
        updater.refresh()
        if target != "-":
            info = updater.get_targetinfo(target)
            if info is None:
                print(f"refused: UnknownTarget: {target}")
                return 1
            updater.download_target(info, os.path.join(out, target.replace("/", "_")))
        print("ok")
        return 0
    except (exceptions.RepositoryError, exceptions.DownloadError) as e:
        print(f"refused: {type(e).__name__}: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
