// Precompiled header shared by the test executables of one layer (see tunebench_test_pch).
#pragma once

#include <torch/torch.h>

#include <QtTest/QtTest>

#include <filesystem>
#include <string>
#include <vector>
