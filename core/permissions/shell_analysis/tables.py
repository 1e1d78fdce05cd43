"""The command tables: which programs belong to which family. Data only.

A family table lists programs judged alike (judges/ registers one judge per family with
``@judge(*TABLE, family=True)``); a judge registered for a program by name takes precedence
over its family's. Other tables say where programs live (bin folders) and which options make
a command follow symbolic links.
"""

from __future__ import annotations

FORBIDDEN = frozenset(
    """sudo su doas pkexec run0 sudoedit mkfs mke2fs mkswap mkdosfs mkntfs dd shutdown reboot halt
    poweroff telinit fdisk sfdisk cfdisk gdisk sgdisk parted wipefs swapon swapoff mount umount
    insmod rmmod modprobe chroot passwd chpasswd useradd userdel usermod groupadd groupdel groupmod
    adduser deluser addgroup delgroup visudo iptables ip6tables nft ufw firewall-cmd setenforce
    killall5 diskutil nvram csrutil launchctl blkdiscard hdparm losetup cryptsetup lvremove
    vgremove pvremove mdadm zpool zfs kexec pivot_root init loginctl systemd-run nsenter
    machinectl shutdown.exe hwclock ldconfig depmod update-grub grub-install grub-mkconfig
    efibootmgr update-initramfs dracut mkinitcpio e2fsck tune2fs resize2fs badblocks blockdev
    partprobe kpartx dmsetup vgchange vgcreate lvcreate lvextend lvresize lvreduce pvcreate
    xfs_repair xfs_admin setcap setsebool semanage auditctl apparmor_parser aa-disable
    aa-complain rfkill update-alternatives dpkg-reconfigure quotaon quotaoff e2label chvt
    sulogin runuser newgrp sg chsh chfn vipw vigr mknod debugfs ksu""".split()
)
READ_ONLY = frozenset(
    """ls dir vdir cat tac head tail less more grep egrep fgrep rg ag ack wc cut tr nl od hexdump
    strings file stat du df tree diff cmp comm join paste column fold fmt expand unexpand rev
    jq md5sum sha1sum sha224sum sha256sum sha384sum sha512sum b2sum cksum sum base64 base32
    zcat bzcat xzcat zgrep zless look iconv uniq sort xxd realpath readlink lsattr getfacl
    namei wc tokei cloc scc bat batcat delta highlight pygmentize file column""".split()
)
# Read-only commands whose arguments are not paths (nothing to check for outside access).
NO_PATHS = frozenset(
    """echo printf true false : test [ [[ sleep seq yes expr basename dirname which whereis type date
    whoami id groups uname cal nproc arch pwd printenv locale tty logname users uptime free
    getconf factor numfmt bc dc exit return shift unset read wait jobs umask ulimit help
    cd pushd popd dirs set shopt hash times let getopts true caller local export declare typeset
    readonly unalias lsb_release lscpu lsblk lsmem lsusb lspci nvidia-smi sw_vers tput clear
    reset stty history fg bg printenv ps pgrep pidof pstree top htop lsof w who vmstat iostat
    journalctl dmesg hostname""".split()
)
# Read-only commands that must see the machine's real processes (never sandboxed).
HOST_VIEW = frozenset("ps pgrep pidof pstree top htop lsof w who uptime free vmstat iostat".split())
WRITES = frozenset(
    """mkdir touch cp mv ln install patch tee split csplit mktemp rename zip unzip gzip gunzip
    bzip2 bunzip2 xz unxz zstd unzstd 7z tar sponge fallocate""".split()
)
DESTRUCTIVE = frozenset("rm rmdir shred unlink truncate srm wipe".split())
NETWORK = frozenset(
    """curl wget ssh scp sftp nc ncat netcat socat telnet ftp tftp nmap aria2c http https xh
    httpie ping ping6 traceroute dig nslookup host whois mosh rsh rlogin lftp axel mysql psql
    redis-cli mongo mongosh sqlcmd ssh-copy-id ssh-keyscan sshpass mail mailx sendmail mutt
    smbclient rclone s3cmd lynx w3m links elinks""".split()
)
INSTALLERS = frozenset(
    """apt apt-get aptitude dpkg yum dnf rpm pacman zypper apk brew port snap flatpak nix-env
    gem composer cpan cpanm pipx conda mamba micromamba sdkmanager rustup nvm volta asdf mise
    pip pip3 easy_install""".split()
)
CLOUD = frozenset(
    """docker podman kubectl helm terraform tofu pulumi ansible ansible-playbook aws gcloud gsutil
    az gh glab heroku fly flyctl vercel netlify firebase wrangler doctl oc minikube kind k9s
    vagrant packer nomad consul vault""".split()
)
SHELLS = frozenset("bash sh zsh dash ksh mksh ash fish csh tcsh yash busybox toybox coreutils".split())
INTERPRETERS = frozenset(
    """python python2 python3 pypy pypy3 node nodejs ruby perl php lua luajit Rscript R julia
    tclsh wish osascript pwsh powershell groovy scala kotlin elixir erl escript racket guile
    sbcl clisp ghci runghc swift ipython ipython3 bpython""".split()
)
# Commands that evaluate a string argument as shell code, or run a command detached.
EVALUATORS = frozenset(
    """eval trap alias coproc enable bind complete compgen fc watch script parallel vim vi nvim
    view ex ed emacs nano pico unshare capsh setpriv expect gdb lldb gdb-multiarch pee vipe
    firejail bwrap nsjail proot""".split()
)
DETACHERS = frozenset("setsid daemonize start-stop-daemon screen tmux at batch crontab nohup disown".split())
# Transparent wrappers: the command they run is what counts.
WRAPPERS = frozenset(
    """env command builtin exec nice ionice time timeout stdbuf chrt taskset unbuffer caffeinate
    xvfb-run catchsegv flock strace ltrace valgrind setarch linux32 linux64 faketime fakeroot
    numactl prlimit chronic ifne dbus-run-session systemd-inhibit ssh-agent""".split()
)
VETTED_BUILD = frozenset(
    """pytest py.test mypy pyright flake8 pylint pyflakes pycodestyle pydocstyle bandit vulture
    jest vitest mocha ava tap tsc javac rustc gcc g++ cc c++ clang clang++ cmake ctest ninja
    meson go-test phpunit rspec shellcheck hadolint yamllint markdownlint eslint stylelint
    golangci-lint staticcheck ktlint detekt swiftlint rubocop credo dialyzer mix cabal stack
    dune zig swiftc gradle gradlew mvn mvnw dotnet sbt lein bazel buck pants tox nox""".split()
)
FORMATTERS = frozenset("black isort autopep8 yapf prettier gofmt rustfmt clang-format shfmt".split())
PACKAGE_RUNNERS = frozenset("npm yarn pnpm bun".split())
# Tools a project installs into its own bin folder (.venv/bin, node_modules/.bin).
PROJECT_TOOLS = VETTED_BUILD | FORMATTERS | PACKAGE_RUNNERS | frozenset(
    """python python3 pypy pypy3 pip pip3 node ruff uv poetry coverage pre-commit npx tsx ts-node
    vite next nuxt webpack rollup esbuild parcel turbo nx lerna biome""".split()
)
# Shell builtins: a file of the same name on PATH never runs in their place.
BUILTINS = frozenset(
    """echo printf test [ cd pwd read type command builtin exec eval source . export declare local
    set unset shift let kill true false : alias history jobs wait trap umask ulimit getopts hash
    times mapfile readarray compgen complete enable help logout bind caller dirs disown fc fg bg
    popd pushd readonly return shopt suspend typeset unalias exit break continue""".split()
)
STD_BIN_DIRS = frozenset(
    """/bin /usr/bin /usr/local/bin /sbin /usr/sbin /usr/local/sbin /opt/homebrew/bin
    /opt/homebrew/sbin /snap/bin /usr/libexec""".split()
)
TOOL_BIN_DIRS = ("/.venv/bin", "/venv/bin", "/env/bin", "/node_modules/.bin", "/.tox/bin")
HARMLESS_DEVICES = frozenset(
    "/dev/null /dev/zero /dev/random /dev/urandom /dev/stdin /dev/stdout /dev/stderr /dev/tty".split()
)

# Command names that, found among an unknown program's arguments, are judged as what it runs.
TAIL_COMMANDS = (
    FORBIDDEN | DESTRUCTIVE | WRITES | NETWORK | INSTALLERS | CLOUD | SHELLS | INTERPRETERS | EVALUATORS
    | DETACHERS | WRAPPERS
    | frozenset("git find xargs sed awk gawk make kill pkill killall chmod chown chgrp chattr crontab rsync dd".split())
)

# Options that make a command follow symbolic links while it walks a tree.
FOLLOW: dict[str, tuple[str, ...]] = {
    "grep": ("-R", "--dereference-recursive"),
    "egrep": ("-R", "--dereference-recursive"),
    "fgrep": ("-R", "--dereference-recursive"),
    "zgrep": ("-R", "--dereference-recursive"),
    "rg": ("-L", "--follow"),
    "ag": ("-f", "--follow"),
    "ack": ("--follow",),
    "du": ("-L", "--dereference"),
    "ls": ("-L", "--dereference"),
    "tree": ("-l",),
    "find": ("-L", "-follow"),
    "fd": ("-L", "--follow"),
    "fdfind": ("-L", "--follow"),
    "cp": ("-L", "--dereference"),
    "rsync": ("-L", "--copy-links", "--copy-unsafe-links", "-k", "--copy-dirlinks"),
    "tar": ("-h", "--dereference"),
    "chmod": ("-L",),
    "chown": ("-L",),
    "chgrp": ("-L",),
}
