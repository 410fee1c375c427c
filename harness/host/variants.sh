# shellcheck shell=bash
# Host variants for ctd-host (`up NAME --variant V[,V2…]`), sourced by ctd-host.
#
# A variant is the same real host (the kernel's conntrack table in the host's netns, Debian's
# sshd, the same users) with a different userland, /proc view, accounts, firewall tools or
# locale, made inside the host's private mount namespace: overlay layers over /usr (whiteouts
# hide programs, BusyBox applet links replace them), files in the upper layers of /etc and
# /var/lib, views of /proc/net, /proc/sys/net/netfilter and /sys/module made of bind mounts of
# the real kernel files minus the hidden ones (harness/host/ctvariant.c), and a seccomp filter on
# sshd for "nfnetlink not available". Nothing on the machine changes. harness/host/README.md says
# what each variant changes, how, and where it is an approximation.

VARIANT_NAMES=(nopriv no-conntrack-tools no-procfs no-conntrack busybox fw-nft-only fw-legacy-only fw-iptables-nft fw-none locale-de)

# locale-de: the entries with zone=, mark= and labels= come from these client ranges (far above
# what `fill` uses: clients 198.18.0.1 … in rows of 254 per /24), the IPv6 flows from these /64s.
QUIRK_ZONE_NET=198.18.250.0
QUIRK_MARK_NET=198.18.251.0
QUIRK_LABEL_NET=198.18.252.0
QUIRK_ZONE=7
QUIRK_MARK=42
CLIENTS6_NET=2001:db8:18::/64
SERVERS6_NET=2001:db8:19::/64

has_variant() { [[ ,${VARIANTS:-}, == *,"$1",* ]]; }

# Names given as "a,b" "c" … -> the canonical comma list (in VARIANT_NAMES order); dies on an
# unknown name or a combination that cannot be one host.
normalize_variants() {
  local given="," v n fw=0 out=""
  for v in "$@"; do given+="$v,"; done
  for v in ${given//,/ }; do
    [[ " ${VARIANT_NAMES[*]} " == *" $v "* ]] || die "unknown variant '$v' (known: ${VARIANT_NAMES[*]})"
  done
  for n in "${VARIANT_NAMES[@]}"; do
    [[ $given == *,"$n",* ]] || continue
    out+="${out:+,}$n"
    [[ $n != fw-* ]] || fw=$((fw + 1))
  done
  ((fw <= 1)) || die "variants: one firewall variant at most (fw-nft-only, fw-legacy-only, fw-iptables-nft, fw-none)"
  if [[ ,$out, == *,no-conntrack,* && ,$out, == *,locale-de,* ]]; then
    die "variants: locale-de needs connection tracking (zones, marks, labels), no-conntrack has none"
  fi
  echo "$out"
}

variant_missing_prereqs() { # VARIANTS -> what the variants need beyond ctd-host's own prerequisites
  if has_variant busybox; then
    command -v busybox >/dev/null 2>&1 || echo busybox
    [[ -x /usr/bin/doas ]] || echo "doas (opendoas)"
  fi
  if has_variant locale-de; then
    command -v localedef >/dev/null 2>&1 || echo "localedef (libc-bin)"
    [[ -e /usr/share/i18n/locales/de_DE && -e /usr/share/i18n/charmaps/UTF-8.gz ]] || echo "locale sources (locales)"
  fi
  return 0
}

# A /usr layer with the compiled de_DE.UTF-8 locale (lib/locale/de_DE.utf8, where glibc looks
# when there is no locale-archive entry), built once per machine and shared read-only by hosts.
locale_layer() {
  local key dir tmp
  key=$({ sha256sum /usr/share/i18n/locales/de_DE; localedef --version | head -n 1; } | sha256sum | cut -c1-16)
  dir=$HOSTS_ROOT/.bin/locale-de-$key
  if [[ ! -d $dir ]]; then
    mkdir -p "$HOSTS_ROOT/.bin"
    tmp=$(mktemp -d "$HOSTS_ROOT/.bin/.locale.XXXXXX")
    install -d -m 755 "$tmp/lib" "$tmp/lib/locale"
    chmod 755 "$tmp"
    localedef -i de_DE -f UTF-8 "$tmp/lib/locale/de_DE.utf8" >&2 || { rm -rf "$tmp"; die "localedef -i de_DE -f UTF-8 failed"; }
    mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp" # another host built it meanwhile
  fi
  echo "$dir"
}

# Drops the stanzas of PKG… from the host's dpkg status (the /var/lib overlay's upper layer):
# `dpkg -s PKG` then says the package is not installed, as on a host that never had it.
drop_dpkg_packages() {
  local status=$S/fs/var/lib/upper/dpkg/status src
  src=$status
  [[ -f $status ]] || src=/var/lib/dpkg/status
  mkdir -p "$S/fs/var/lib/upper/dpkg"
  awk -v drop=" $* " 'BEGIN { RS = ""; ORS = "\n\n" } {
      if (match($0, /(^|\n)Package: [^\n]+/)) { p = substr($0, RSTART, RLENGTH); sub(/^\n?Package: /, "", p) } else p = ""
      if (index(drop, " " p " ") == 0) print
    }' "$src" >"$status.tmp"
  mv -f "$status.tmp" "$status"
}

whiteout_upper() { # OVERLAY PATH… -> whiteouts in that overlay's upper layer (e.g. etc alternatives/iptables)
  local ov=$1 p
  shift
  for p in "$@"; do
    mkdir -p "$(dirname "$S/fs/$ov/upper/$p")"
    rm -rf "$S/fs/$ov/upper/$p"
    mknod "$S/fs/$ov/upper/$p" c 0 0
  done
}

# ---------------------------------------------------------------- before sshd starts (machine side)

# Everything a variant changes in the state dir: the /usr layer, files in the /etc and /var/lib
# upper layers, extra users. Runs after write_identity_files, before the ruleset and sshd.
prepare_variants() {
  [[ -n ${VARIANTS:-} ]] || return 0
  CTVARIANT=$(helper_bin ctvariant)
  local etc=$S/fs/etc/upper
  USR_LOWER=""

  if has_variant nopriv; then
    # guest: a key, no password, no sudoers line at all (audit, whose sudo asks a password, exists anyway)
    printf 'guest:x:2903:2903:ctd test guest (no sudo):%s:/bin/bash\n' "$S/home/guest" >>"$etc/passwd"
    printf 'guest:x:2903:\n' >>"$etc/group"
    printf 'guest:*:19000:0:99999:7:::\n' >>"$etc/shadow"
    printf 'guest:*::\n' >>"$etc/gshadow"
    mkdir -p "$S/home/guest"
    cp -a /etc/skel/. "$S/home/guest/" 2>/dev/null || true
    chown -R 2903:2903 "$S/home/guest"
  fi

  if has_variant no-conntrack-tools; then drop_dpkg_packages conntrack; fi

  local ipt_alts=(iptables iptables-restore iptables-save ip6tables ip6tables-restore ip6tables-save
                  arptables arptables-restore arptables-save ebtables ebtables-restore ebtables-save)
  if has_variant fw-nft-only || has_variant fw-none; then
    # No iptables package: no programs, no alternatives.
    whiteout_upper etc "${ipt_alts[@]/#/alternatives/}"
    whiteout_upper var/lib dpkg/alternatives/iptables dpkg/alternatives/ip6tables dpkg/alternatives/arptables dpkg/alternatives/ebtables
    drop_dpkg_packages iptables
  fi
  if has_variant fw-legacy-only; then
    # arptables and ebtables exist only as nft flavours in Debian 12's iptables package
    whiteout_upper etc alternatives/arptables alternatives/arptables-restore alternatives/arptables-save \
      alternatives/ebtables alternatives/ebtables-restore alternatives/ebtables-save
    whiteout_upper var/lib dpkg/alternatives/arptables dpkg/alternatives/ebtables
  fi
  if has_variant fw-legacy-only || has_variant fw-none; then
    whiteout_upper etc nftables.conf
    drop_dpkg_packages nftables
  fi
  if has_variant fw-iptables-nft; then
    whiteout_upper etc nftables.conf # its rules live in iptables-nft's tables, not in nftables.service's file
  fi

  if has_variant busybox; then
    # Alpine-like accounts: the login shell is BusyBox ash; doas instead of sudo, for ops only.
    sed -i -E 's#^((root|ops|audit|guest):[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:).*$#\1/bin/ash#' "$etc/passwd"
    printf '/bin/sh\n/bin/ash\n' >"$etc/shells"
    printf 'permit nopass ops as root\n' >"$etc/doas.conf"
    chmod 400 "$etc/doas.conf"
  fi

  if has_variant locale-de; then
    # pam_env reads it for every SSH session (/etc/pam.d/sshd: envfile=/etc/default/locale)
    mkdir -p "$etc/default"
    printf 'LANG=de_DE.UTF-8\n' >"$etc/default/locale"
    sed -E 's/^# *(de_DE\.UTF-8 UTF-8)$/\1/' /etc/locale.gen >"$etc/locale.gen"
    grep -qx 'de_DE.UTF-8 UTF-8' "$etc/locale.gen" || echo 'de_DE.UTF-8 UTF-8' >>"$etc/locale.gen"
    # Label names for `conntrack -L -o labels` (libnetfilter_conntrack) and nft.
    mkdir -p "$etc/xtables"
    printf '1\tctd-blue\n2\tctd-green\n' | tee "$etc/xtables/connlabel.conf" >"$etc/connlabel.conf"
    USR_LOWER=$(locale_layer)
  fi

  build_usr_layer
}

# $S/fs/usr-variant: whiteouts for hidden programs, BusyBox applet links (busybox). Sets USR_LOWER
# (the overlay's lowerdir before /usr) when /usr needs an overlay at all.
build_usr_layer() {
  local L=$S/fs/usr-variant hide_sbin=() hide_bin=()
  has_variant no-conntrack-tools && hide_sbin+=(conntrack)
  if has_variant fw-nft-only || has_variant fw-none; then
    hide_sbin+=('iptables*' 'ip6tables*' 'xtables-*' 'arptables*' 'ebtables*' nfnl_osf)
    hide_bin+=(iptables-xml)
  fi
  if has_variant fw-legacy-only; then
    # iptables 1.8 built for the legacy backend only: no nft flavour, no arptables/ebtables (nft-only in Debian 12)
    hide_sbin+=(xtables-nft-multi xtables-monitor '*-nft' '*-nft-*' '*tables-translate' '*tables-restore-translate' 'arptables*' 'ebtables*')
  fi
  if has_variant fw-legacy-only || has_variant fw-none; then hide_sbin+=(nft); fi
  if ((${#hide_sbin[@]} + ${#hide_bin[@]} == 0)) && ! has_variant busybox; then return 0; fi

  install -d -m 755 "$L" "$L/bin" "$L/sbin"
  if has_variant busybox; then
    install -d -m 755 "$L/local" "$L/local/bin" "$L/local/sbin" "$L/games"
    local bin_applets=() sbin_applets=() p
    while IFS= read -r p; do
      case $p in
        bin/*|usr/bin/*) bin_applets+=("${p##*/}") ;;
        sbin/*|usr/sbin/*) sbin_applets+=("${p##*/}") ;;
      esac
    done < <(busybox --list-full)
    "$CTVARIANT" symlinks "$L/bin" /usr/bin/busybox "${bin_applets[@]}"
    "$CTVARIANT" symlinks "$L/sbin" /usr/bin/busybox "${sbin_applets[@]}"
  fi
  "$CTVARIANT" whiteout /usr/sbin "$L/sbin" ${hide_sbin[@]+"${hide_sbin[@]}"}
  "$CTVARIANT" whiteout /usr/bin "$L/bin" ${hide_bin[@]+"${hide_bin[@]}"}
  if has_variant busybox; then
    # Everything else of Debian's userland is gone: only the packages an Alpine host with
    # openssh, conntrack-tools, nftables, iptables and doas would add stay (hidden ones excepted).
    "$CTVARIANT" whiteout-except /usr/bin "$L/bin" busybox doas
    "$CTVARIANT" whiteout-except /usr/sbin "$L/sbin" sshd unix_chkpwd conntrack nft 'iptables*' 'ip6tables*' 'xtables-*' 'arptables*' 'ebtables*' nfnl_osf
    local d
    for d in local/bin local/sbin games; do
      [[ -d /usr/$d ]] && "$CTVARIANT" whiteout-except "/usr/$d" "$L/$d"
    done
  fi
  USR_LOWER="$L${USR_LOWER:+:$USR_LOWER}"
}

# The netns's kernel ruleset, loaded from the machine's side (the host's own tools may be hidden).
load_ruleset() {
  local conf=$S/ruleset.nft
  if has_variant no-conntrack; then write_nft_conf_untracked "$conf"; else write_nft_conf "$conf"; fi
  # /etc/nftables.conf of the host: the same ruleset, unless the variant has none
  [[ -c $S/fs/etc/upper/nftables.conf ]] || cp "$conf" "$S/fs/etc/upper/nftables.conf"
  if has_variant fw-legacy-only; then
    iptables_rules | ip netns exec "$NS" iptables-legacy-restore
    iptables_rules | ip netns exec "$NS" ip6tables-legacy-restore
  elif has_variant fw-iptables-nft; then
    iptables_rules | ip netns exec "$NS" iptables-nft-restore
    iptables_rules | ip netns exec "$NS" ip6tables-nft-restore
  else
    ip netns exec "$NS" nft -f "$conf"
  fi
  if has_variant locale-de; then quirks_nft | ip netns exec "$NS" nft -f -; fi
}

write_nft_conf_untracked() {
  cat >"$1" <<'EOF'
#!/usr/sbin/nft -f
# Conntrack Doctor test host, variant no-conntrack: accept everything without any `ct`
# expression, so nothing in this namespace uses connection tracking.
flush ruleset

table inet filter {
	chain input {
		type filter hook input priority filter; policy accept;
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
	}
	chain output {
		type filter hook output priority filter; policy accept;
	}
}
EOF
}

iptables_rules() { # iptables-save format: the tracking ruleset (accept all through conntrack matches), or none with no-conntrack
  echo '*filter'
  echo ':INPUT ACCEPT [0:0]'
  echo ':FORWARD ACCEPT [0:0]'
  echo ':OUTPUT ACCEPT [0:0]'
  if ! has_variant no-conntrack; then
    local c s
    for c in INPUT FORWARD; do
      for s in RELATED,ESTABLISHED NEW INVALID; do echo "-A $c -m conntrack --ctstate $s -j ACCEPT"; done
    done
  fi
  echo 'COMMIT'
}

quirks_nft() { # locale-de: entries with zone=, mark= and labels=
  cat <<EOF
table inet quirks {
	chain prerouting {
		type filter hook prerouting priority raw; policy accept;
		ip saddr $QUIRK_ZONE_NET/24 ct zone set $QUIRK_ZONE
		ip daddr $QUIRK_ZONE_NET/24 ct zone set $QUIRK_ZONE
	}
	chain forward {
		type filter hook forward priority filter - 10; policy accept;
		ip saddr $QUIRK_MARK_NET/24 ct mark set $QUIRK_MARK
		ip saddr $QUIRK_LABEL_NET/24 ct label set 1
		ip saddr $QUIRK_LABEL_NET/24 ct label set 2
	}
}
EOF
}

setup_ipv6() { # locale-de: IPv6 on in the netns, routes to the same ifb sinks
  local hex
  hex=$(printf '%x' "$INDEX")
  HOST_ADDR6=2001:db8:231:$hex::2
  ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 \
    net.ipv6.conf.all.forwarding=1 >/dev/null
  ip -n "$NS" -6 addr add "$HOST_ADDR6/64" dev eth0 nodad
  ip -n "$NS" -6 route add "$CLIENTS6_NET" dev ifbc
  ip -n "$NS" -6 route add "$SERVERS6_NET" dev ifbs
  ip -n "$NS" -6 route add blackhole default
}

# locale-de, once sshd runs: a few of each kind of quirky entry (fill adds more).
populate_quirks() {
  local net first
  for net in "$QUIRK_ZONE_NET" "$QUIRK_MARK_NET" "$QUIRK_LABEL_NET"; do
    first=$(reserve_flows 60)
    run_flood --mode assured --count 60 --offset "$first" --clients "$net" --src-count 20 >/dev/null
  done
  first=$(reserve_flows 300)
  run_flood --mode assured --count 300 --offset "$first" --ipv6 1 >/dev/null
  first=$(reserve_flows 100)
  run_flood --mode unreplied --count 100 --offset "$first" --ipv6 1 --proto udp --src 2001:db8:18::dead:beef >/dev/null
}

variant_json() { # the host.json members a variant adds (leading comma), e.g. ,"ipv6":{…}
  if has_variant locale-de; then
    printf ',"ipv6":{"address":%s,"clients":%s,"servers":%s}' "$(jstr "$HOST_ADDR6")" "$(jstr "$CLIENTS6_NET")" "$(jstr "$SERVERS6_NET")"
    printf ',"quirks":{"zone":{"clients":%s,"zone":%s},"mark":{"clients":%s,"mark":%s},"labels":{"clients":%s,"labels":["ctd-blue","ctd-green"]},"offload":false}' \
      "$(jstr "$QUIRK_ZONE_NET/24")" "$QUIRK_ZONE" "$(jstr "$QUIRK_MARK_NET/24")" "$QUIRK_MARK" "$(jstr "$QUIRK_LABEL_NET/24")"
  fi
}

# ---------------------------------------------------------------- inside the host's mount namespace

# Runs in _sshd-init after the standard mounts (/usr read-only), before sshd is exec'd. Prints
# the command prefix sshd must be started with (the seccomp wrapper of no-conntrack), if any.
variant_mounts() {
  [[ -n ${VARIANTS:-} ]] || return 0
  # iptables alternatives first: update-alternatives may be hidden once /usr is overlaid. It
  # writes /etc/alternatives and /var/lib/dpkg/alternatives (overlays); /usr is read-only here.
  if has_variant fw-legacy-only; then
    # only the legacy alternative stays registered (auto mode then points at it)
    update-alternatives --quiet --remove iptables /usr/sbin/iptables-nft
    update-alternatives --quiet --remove ip6tables /usr/sbin/ip6tables-nft
  elif has_variant fw-iptables-nft; then
    update-alternatives --quiet --set iptables /usr/sbin/iptables-nft
    update-alternatives --quiet --set ip6tables /usr/sbin/ip6tables-nft
  fi
  if [[ -n ${USR_LOWER:-} ]]; then
    mount -t overlay "ctd-$NAME-usr" -o "lowerdir=$USR_LOWER:/usr" /usr
  fi

  local hide_net=()
  if has_variant no-procfs || has_variant no-conntrack; then
    # What CONFIG_NF_CONNTRACK_PROCFS adds (nf_conntrack_standalone.c, nf_conntrack_expect.c)
    hide_net+=(nf_conntrack nf_conntrack_expect stat/nf_conntrack)
  fi
  if has_variant no-conntrack; then
    # ... and what needs nf_conntrack or nfnetlink (nf_synproxy_core, nfnetlink_log/_queue)
    hide_net+=(stat/synproxy netfilter/nfnetlink_log netfilter/nfnetlink_queue)
  fi
  if ((${#hide_net[@]})) || has_variant no-conntrack; then
    # a small read-only tmpfs holding the views (the symlink target below, and staging)
    mkdir -p /run/ctd-variant
    mount -t tmpfs -o mode=755,size=4m "ctd-$NAME-variant" /run/ctd-variant
  fi
  if ((${#hide_net[@]})); then
    # /proc/net is a symlink to self/net: replaced (in this mount namespace only) by a symlink to
    # a view of this netns's /proc/net without the hidden files. /proc/self/net still has them.
    mkdir /run/ctd-variant/net
    "$CTVARIANT" view /proc/self/net /run/ctd-variant/net "${hide_net[@]}"
    ln -s /run/ctd-variant/net /run/ctd-variant/net.link
    "$CTVARIANT" symlink-over /run/ctd-variant/net.link /proc/net
  fi
  if has_variant no-conntrack; then
    view_over /proc/sys/net/netfilter 'nf_conntrack_*'
    view_over /sys/module nf_conntrack 'nf_conntrack_*'
  fi
  if mountpoint -q /run/ctd-variant; then mount -o remount,ro /run/ctd-variant; fi
}

view_over() { # DIR PATTERN… -> DIR replaced by a read-only view of itself without the matching entries
  local dir=$1 stage
  shift
  stage=/run/ctd-variant/stage-${dir//\//_}
  mkdir "$stage"
  mount -t tmpfs -o mode=755,size=1m "ctd-$NAME-view" "$stage"
  "$CTVARIANT" view "$dir" "$stage" "$@"
  mount --move "$stage" "$dir"
  mount -o remount,ro "$dir"
}

exec_sshd() { # ARG… -> exec sshd; no-conntrack: under the filter that refuses NETLINK_NETFILTER sockets
  if has_variant no-conntrack; then exec "$CTVARIANT" no-nfnetlink /usr/sbin/sshd "$@"; fi
  exec /usr/sbin/sshd "$@"
}
