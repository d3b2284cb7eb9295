#!/usr/bin/perl
# Amanda's own s3 device (Amanda::Device, libamdevice 3.5) reading a volume for the tests:
#   perl amanda-s3-read.pl SPEC HOST:PORT ACCESS_KEY SECRET_KEY FILE OUT [BLOCK_SIZE]
# reads the label, seeks to FILE, writes its data blocks to OUT and prints one JSON line:
#   {"label":..,"datestamp":..,"type":..,"name":..,"disk":..,"level":..,"partnum":..,"blocks":N,"bytes":N}
# Run it in a scratch directory: without a configuration Amanda keeps its S3 catalog cache in the
# current directory. (Amanda 3.5.1 cannot WRITE to S3 with libcurl 7.88: it resets the request to
# GET after setting CURLOPT_UPLOAD, so only reading is tested against it.)
use strict;
use warnings;
use lib '/usr/lib/x86_64-linux-gnu/amanda/perl';
use Amanda::Config qw(:init);
use Amanda::Device qw(:constants);
use Amanda::Header;
use Amanda::MainLoop;
use Amanda::Xfer qw(:constants);
use JSON::PP;
use POSIX ();

# Amanda hands some integers back as Math::BigInt objects.
sub num { my $v = shift; return 0 + "$v"; }

config_init(0, undef);
my ($spec, $host, $key, $secret, $file, $out, $bs) = @ARGV;
my $dev = Amanda::Device->new($spec);
die 'new: ' . $dev->error_or_status() . "\n" if $dev->status != $DEVICE_STATUS_SUCCESS;
my %props = (S3_HOST => $host, S3_SSL => 'NO', S3_SUBDOMAIN => 'NO', S3_ACCESS_KEY => $key, S3_SECRET_KEY => $secret,
  STORAGE_API => 'S3', CREATE_BUCKET => 'NO', NB_THREADS_RECOVERY => 2, ($bs ? (BLOCK_SIZE => $bs + 0) : ()));
for my $p (sort keys %props) {
  my $err = $dev->property_set($p, $props{$p});   # returns an error message, undef on success
  die "property $p: $err\n" if $err;
}
$dev->read_label() == $DEVICE_STATUS_SUCCESS or die 'read_label: ' . $dev->error_or_status() . "\n";
$dev->start($ACCESS_READ, undef, undef) or die 'start: ' . $dev->error_or_status() . "\n";
my $h = $dev->seek_file($file + 0) or die 'seek_file: ' . $dev->error_or_status() . "\n";
# Amanda's XFA moves the blocks (read_block is not callable from Perl): Source::Device → Dest::Fd.
my $outfd = POSIX::open($out, POSIX::O_CREAT | POSIX::O_WRONLY | POSIX::O_TRUNC, 0640) or die "$out: $!\n";
my $err;
my $xfer = Amanda::Xfer->new([Amanda::Xfer::Source::Device->new($dev), Amanda::Xfer::Dest::Fd->new($outfd)]);
$xfer->start(sub {
  my ($src, $msg, $x) = @_;
  $err //= $msg->{message} if $msg->{type} == $XMSG_ERROR;
  Amanda::MainLoop::quit() if $msg->{type} == $XMSG_DONE;
}, 0, -1);   # size -1: to EOF (with 0, the s3 device reads 0 blocks ahead and stops)
Amanda::MainLoop::run();
POSIX::close($outfd);
die "xfer: $err\n" if $err;
my $bytes = -s $out;
my $blocks = num($dev->block);
$dev->finish();
print JSON::PP->new->canonical->encode({ label => $dev->volume_label, datestamp => $dev->volume_time, type => $h->{type} == $Amanda::Header::F_SPLIT_DUMPFILE ? 'SPLIT_FILE' : $h->{type} == $Amanda::Header::F_DUMPFILE ? 'FILE' : "$h->{type}",
  name => $h->{name}, disk => $h->{disk}, level => num($h->{dumplevel}), partnum => num($h->{partnum}), blocks => $blocks, bytes => $bytes }), "\n";
