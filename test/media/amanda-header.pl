#!/usr/bin/perl
# Amanda's own header code as an oracle for the tests (test/media/amanda.ts): reads one JSON
# request per line on stdin and answers one JSON line each.
#   {"op":"build","header":{Amanda::Header fields}}  -> {"hex": to_string(32768, 32768) as hex}
#   {"op":"parse","hex":"..."}                       -> {"header":{fields from from_string}}
#   {"op":"quote","s":"..."} / {"op":"sanitise","s":"..."} -> {"s": ...}
# Only give it valid headers: Amanda's build_header() aborts the process on invalid ones.
use strict;
use warnings;
use lib '/usr/lib/x86_64-linux-gnu/amanda/perl';
use Amanda::Header;
use Amanda::Util;
use JSON::PP;

my @fields = qw(type datestamp dumplevel compressed encrypted comp_suffix encrypt_suffix name disk program
  application srvcompprog clntcompprog srv_encrypt clnt_encrypt recover_cmd uncompress_cmd decrypt_cmd
  srv_decrypt_opt clnt_decrypt_opt cont_filename dle_str is_partial partnum totalparts blocksize orig_size
  native_crc client_crc server_crc);
# Strings cross as UTF-8: decoded from the request, handed to Amanda as bytes, decoded back.
my $json = JSON::PP->new->canonical->utf8(1);
sub bytes { my $v = shift; utf8::encode($v) if defined $v && $v =~ /[^\x00-\x7f]/; return $v; }
sub chars { my $v = shift; utf8::decode($v) if defined $v; return $v; }
$| = 1;
while (my $line = <STDIN>) {
  my $req = $json->decode($line);
  my $out;
  if ($req->{op} eq 'build') {
    my $h = Amanda::Header->new();
    my $in = $req->{header};
    for my $k (keys %$in) { $h->{$k} = ref $in->{$k} ? $in->{$k} : bytes($in->{$k}); }
    $out = { hex => unpack('H*', $h->to_string(32768, 32768)) };
  } elsif ($req->{op} eq 'parse') {
    my $h = Amanda::Header->from_string(pack('H*', $req->{hex}));
    my %f;
    for my $k (@fields) { my $v = $h->{$k}; $f{$k} = defined $v ? chars("$v") : undef; }
    $out = { header => \%f };
  } elsif ($req->{op} eq 'quote') {
    $out = { s => chars(Amanda::Util::quote_string(bytes($req->{s}))) };
  } elsif ($req->{op} eq 'sanitise') {
    $out = { s => chars(Amanda::Util::sanitise_filename(bytes($req->{s}))) };
  } else {
    $out = { error => "unknown op" };
  }
  print $json->encode($out), "\n";
}
