#!/usr/bin/perl
# tests/interop/dkim/maildkim_peer.pl - Mail::DKIM as an interop oracle.
#   maildkim_peer.pl verify KEYS MSG...   (KEYS: "NAME RECORD" lines)
#       prints "pass" or "RESULT DETAIL" per message (first signature)
#   maildkim_peer.pl sign KEYPEM DOMAIN SELECTOR simple|relaxed MSG
#       prints the signed message on stdout
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Mail::DKIM::Signer;
use Net::DNS;

my $mode = shift @ARGV;
if ($mode eq 'verify') {
    my $keys = shift @ARGV;
    my %txt;
    open(my $k, '<', $keys) or die "$keys: $!";
    while (<$k>) {
        chomp;
        my ($name, $rec) = split(/ /, $_, 2);
        $txt{lc $name} = $rec;
    }
    close $k;
    no warnings 'redefine';
    *Mail::DKIM::DNS::query = sub {
        my ($domain, $type) = @_;
        my $rec = $txt{lc $domain};
        if (!defined $rec) { $@ = 'NXDOMAIN'; return; }
        my @parts = ($rec =~ /(.{1,200})/gs);
        return Net::DNS::RR->new(name => $domain, type => 'TXT',
            txtdata => [@parts]);
    };
    for my $f (@ARGV) {
        my $data = do {
            open(my $fh, '<:raw', $f) or die "$f: $!";
            local $/;
            <$fh>;
        };
        my $dkim = Mail::DKIM::Verifier->new();
        $dkim->PRINT($data);
        $dkim->CLOSE;
        my @sigs = $dkim->signatures;
        my $r = @sigs ? $sigs[0]->result : 'none';
        my $d = @sigs ? ($sigs[0]->result_detail // '') : '';
        print $r eq 'pass' ? "pass\n" : "$r $d\n";
    }
} elsif ($mode eq 'sign') {
    my ($key, $domain, $sel, $canon, $f) = @ARGV;
    my $data = do {
        open(my $fh, '<:raw', $f) or die "$f: $!";
        local $/;
        <$fh>;
    };
    my $dkim = Mail::DKIM::Signer->new(
        Algorithm => 'rsa-sha256', Method => "$canon/$canon",
        Domain => $domain, Selector => $sel, KeyFile => $key,
        Headers => 'from:to:subject:date:message-id:cc:reply-to');
    $dkim->PRINT($data);
    $dkim->CLOSE;
    binmode STDOUT;
    my $sig = $dkim->signature->as_string;
    $sig =~ s/\r?\n/\r\n/g;
    print $sig, "\r\n", $data;
} else {
    die "usage\n";
}
