#!/bin/sh
# scripts/layout/rustflags.sh -- the RUSTFLAGS of the two builds that share the code layout:
# scripts/profile-layout.sh, which writes order.txt, and scripts/dist.sh, which links by it.
# Both must name functions alike, so both take their flags from here.
#
# v0 symbol mangling: the demangled name of a generic function carries its type arguments
# (`<PhantomData<termphone::config::raw::RawConfig> as DeserializeSeed>::deserialize`), so
# order.txt names the one instance the phone runs. Under the legacy mangling all instances
# of a generic share one demangled name, and the list placed every one of them (e.g. 180 KB
# of `deserialize` instances) among the code the idle phone keeps resident.
printf '%s' "${RUSTFLAGS:+$RUSTFLAGS }-C symbol-mangling-version=v0"
