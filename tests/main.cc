// The only DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN of heapa_tests.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
