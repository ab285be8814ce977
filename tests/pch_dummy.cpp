// Translation unit that only exists to build the test precompiled header.
