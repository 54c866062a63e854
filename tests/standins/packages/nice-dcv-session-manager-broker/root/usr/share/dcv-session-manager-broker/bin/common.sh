# shellcheck shell=sh
# TEST DOUBLE: dcvkit stand-in (not Amazon DCV). The real file sets the JVM heap; the
# stand-in has no JVM and only ships this file so the path exists.
export JAVA_OPTS="-Xmx2g"
