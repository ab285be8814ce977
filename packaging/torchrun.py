#!/usr/bin/env python3
"""torchrun for Debian 12's python3-torch (1.13 on Python 3.11), to launch tunebench-cli ranks.

Debian's torchrun fails at start: Std.from_str looks its value up by iterating the Std flag enum,
and Python 3.11 no longer yields the zero and combined members (NONE, ALL) from that iteration, so
the default "0" gives None. This replaces Std.from_str with a direct lookup and runs torchrun as is:

    python3 torchrun.py --nproc_per_node 2 --no_python tunebench-cli train CONFIG.yaml

tunebench-cli reads RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT.
"""
import re
import sys

from torch.distributed.elastic.multiprocessing import api
from torch.distributed.run import main


def _from_str(vm):
    if re.fullmatch(r"[0-3]", vm):
        return api.Std(int(vm))
    if re.fullmatch(r"(\d+:[0-3],)*\d+:[0-3]", vm):
        return {int(i): api.Std(int(v)) for i, v in (m.split(":") for m in vm.split(","))}
    raise ValueError(f"{vm} does not match <[0-3]> or <(\\d+:[0-3],)*\\d+:[0-3]>")


api.Std.from_str = staticmethod(_from_str)

if __name__ == "__main__":
    sys.exit(main())
